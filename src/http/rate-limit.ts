import type { Express, RequestHandler, Response } from 'express';
import { HTTP_METHODS, type OpenApiDocument } from '../contract';
import type { LimitState } from '../domain';
import { problems } from '../errors';
import type { Services } from '../services';
import { limitHeaders } from './limit-headers';
import type { OperationId } from './operations';
import { toExpressPath } from './routes';

/** Operations that create accounts or send email: RATE_LIMIT_SENSITIVE_PER_HOUR per address. */
const SENSITIVE_OPERATIONS: OperationId[] = [
  'registerUser',
  'resendVerificationEmail',
  'requestPasswordReset',
];

/**
 * Sets the RateLimit-* headers unless a limit closer to refusing has set them already: a client
 * counted by several limits learns about the one it will meet first.
 */
export function announce(res: Response, state: LimitState): void {
  const current = res.getHeader('RateLimit-Remaining');
  if (current !== undefined && Number(current) <= state.remaining) return;
  res.set(limitHeaders(state));
}

/**
 * Mounts the limits before the body is parsed: a refused request costs us as little as possible.
 * The address is `req.ip`, which honours X-Forwarded-For only as TRUST_PROXY allows.
 */
export function mountRateLimits(app: Express, services: Services, document: OpenApiDocument): void {
  const { limits } = services;
  const general: RequestHandler = (req, res, next) => {
    const outcome = limits.general(req.ip ?? 'unknown');
    if (outcome) announce(res, outcome.state);
    if (outcome && !outcome.allowed)
      return next(problems.tooManyRequests(outcome.state, 'Too many requests from your address.'));
    next();
  };
  // Load balancers probe health constantly; those probes must never be limited.
  app.use((req, res, next) => (req.path.startsWith('/health/') ? next() : general(req, res, next)));

  const sensitive: RequestHandler = async (req, res, next) => {
    const state = await limits.sensitive(req.ip ?? 'unknown');
    if (state) announce(res, state);
    next();
  };
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of HTTP_METHODS) {
      const id = item[method]?.operationId as OperationId | undefined;
      if (id && SENSITIVE_OPERATIONS.includes(id)) app[method](toExpressPath(path), sensitive);
    }
  }
}
