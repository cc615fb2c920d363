import type { Express, RequestHandler } from 'express';
import { HTTP_METHODS, type OpenApiDocument } from '../contract';
import { limitHeaders, tooManyRequests, type LimitState } from '../services/limits';
import type { Services } from '../services';
import type { OperationId } from './operations';
import { toExpressPath } from './routes';

/** Operations that create accounts or send email: RATE_LIMIT_SENSITIVE_PER_HOUR per address. */
const SENSITIVE_OPERATIONS: OperationId[] = [
  'registerUser',
  'resendVerificationEmail',
  'requestPasswordReset',
];

type Check = (ip: string) => Promise<{ allowed: boolean; state?: LimitState }> | undefined;

/**
 * `announce`: send the RateLimit-* headers on every response, as the document declares for the
 * sensitive operations; the general limit tells them only with its 429.
 */
function limiter(check: Check, detail: string, announce: boolean): RequestHandler {
  return async (req, res, next) => {
    const outcome = await check(req.ip ?? 'unknown');
    if (announce && outcome?.state) res.set(limitHeaders(outcome.state));
    if (outcome && !outcome.allowed && outcome.state)
      return next(tooManyRequests(outcome.state, detail));
    next();
  };
}

/**
 * Mounts the limits before the body is parsed: a refused request costs us as little as possible.
 * The address is `req.ip`, which honours X-Forwarded-For only as TRUST_PROXY allows.
 */
export function mountRateLimits(app: Express, services: Services, document: OpenApiDocument): void {
  const general = limiter(services.limits.general, 'Too many requests from your address.', false);
  // Load balancers probe health constantly; those probes must never be limited.
  app.use((req, res, next) => (req.path.startsWith('/health/') ? next() : general(req, res, next)));

  const sensitive = limiter(
    services.limits.sensitive,
    'Too many account or email requests from your address; try again later.',
    true,
  );
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of HTTP_METHODS) {
      const id = item[method]?.operationId as OperationId | undefined;
      if (id && SENSITIVE_OPERATIONS.includes(id)) app[method](toExpressPath(path), sensitive);
    }
  }
}
