import type { ErrorRequestHandler, Response } from 'express';
import { driverErrorOf, isDatabaseUnavailable, isInvalidText } from '../data/database';
import { logger, requestContext } from '../logger';
import { HttpProblem, TITLES, problems, type ProblemKind } from '../errors';
import bundled from '../generated/openapi.json';
import { limitHeaders } from './limit-headers';

export const PROBLEM_BASE = 'https://opencourse.dev/problems/';

const KIND_BY_STATUS: Record<number, ProblemKind> = {
  400: 'validation-error',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not-found',
  405: 'method-not-allowed',
  409: 'conflict',
  412: 'precondition-failed',
  413: 'payload-too-large',
  415: 'unsupported-media-type',
  429: 'rate-limited',
  501: 'not-implemented',
  503: 'service-unavailable',
};

/** The document's bounds on a problem body: a hostile request cannot make its answer huge. */
const { Problem, ProblemFieldError } = bundled.components.schemas;
const MAX_ERRORS = Problem.properties.errors.maxItems;
const MAX_PATH = ProblemFieldError.properties.path.maxLength;
const MAX_MESSAGE = ProblemFieldError.properties.message.maxLength;
const MAX_DETAIL = Problem.properties.detail.maxLength;
const MAX_INSTANCE = Problem.properties.instance.maxLength;
const clip = (text: string, max: number) =>
  text.length > max ? `${text.slice(0, max - 1)}…` : text;

export function sendProblem(res: Response, problem: HttpProblem): void {
  const errors = (problem.extra.errors ?? []).slice(0, MAX_ERRORS).map((e) => ({
    path: clip(e.path, MAX_PATH),
    message: clip(e.message, MAX_MESSAGE),
  }));
  const requestId = requestContext.getStore()?.requestId ?? String(res.getHeader('X-Request-Id'));
  const { allow, limit, retryAfter } = problem.extra;
  if (allow) res.setHeader('Allow', allow);
  if (limit) res.set(limitHeaders(limit));
  if (retryAfter !== undefined) res.setHeader('Retry-After', String(retryAfter));
  if (problem.status === 401) res.setHeader('WWW-Authenticate', 'Bearer');
  if (problem.status === 503 && !res.hasHeader('Retry-After')) res.setHeader('Retry-After', '5');
  res
    .status(problem.status)
    .type('application/problem+json')
    .send(
      JSON.stringify({
        type: PROBLEM_BASE + problem.kind,
        title: TITLES[problem.kind],
        status: problem.status,
        ...(problem.detail ? { detail: clip(problem.detail, MAX_DETAIL) } : {}),
        instance: clip(res.req.originalUrl, MAX_INSTANCE),
        requestId,
        ...(errors.length > 0 ? { errors } : {}),
      }),
    );
}

interface ValidatorError {
  status?: number;
  statusCode?: number;
  type?: string;
  message?: string;
  headers?: Record<string, string>;
  errors?: { path?: string; message?: string }[];
  /** body-parser's limit in bytes, on entity.too.large. */
  limit?: number;
}

/** What a client is told for statuses whose library messages are not written for clients. */
const DETAILS: Record<number, string> = {
  404: 'No such resource.',
  405: 'This path does not support that method; see the Allow header.',
  415: 'The body must be application/json.',
};

/** `/body/email` and `.body.email` both become `body.email`, the field a client recognises. */
function fieldPath(raw: string | undefined): string {
  return (raw ?? '').replace(/^[./]+/, '').replace(/\//g, '.');
}

/** Turns anything thrown into a problem: known shapes keep their status, the rest is a 500. */
export function toProblem(err: unknown): HttpProblem {
  if (err instanceof HttpProblem) return err;
  if (isDatabaseUnavailable(err)) return problems.unavailable();
  if (isInvalidText(err)) {
    return problems.badRequest('A text value holds a character that cannot be stored.');
  }
  const e = (err ?? {}) as ValidatorError;
  const status = e.status ?? e.statusCode;
  // body-parser's errors carry a `type`; their messages are safe to show.
  if (e.type === 'entity.parse.failed') {
    return problems.badRequest('The body is not valid JSON, or not a JSON object.');
  }
  if (e.type === 'entity.too.large') {
    const kB = Math.round((e.limit ?? 102_400) / 1024);
    return new HttpProblem(413, 'payload-too-large', `The body is larger than ${kB} kB.`);
  }
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const kind = KIND_BY_STATUS[status] ?? 'validation-error';
    const errors = (e.errors ?? []).map((item) => ({
      path: fieldPath(item.path),
      message: item.message ?? 'is not valid',
    }));
    if (status === 400 && errors.length > 0) {
      return problems.badRequest('Some fields are not valid; see errors.', errors);
    }
    // The validator tells a 405 which methods the path has: RFC 9110 wants them in Allow.
    return new HttpProblem(status, kind, DETAILS[status] ?? e.message, { allow: e.headers?.Allow });
  }
  if (status === 503) return problems.unavailable();
  return new HttpProblem(500, 'internal-error');
}

export const problemHandler: ErrorRequestHandler = (err, req, res, _next) => {
  const problem = toProblem(err);
  if (problem.status === 500 || problem.status === 503) {
    // The cause goes to the log, never to the client; and never a failed query's parameters.
    const cause = driverErrorOf(err) as { message?: unknown; code?: unknown; stack?: unknown };
    const line = `${req.method} ${req.originalUrl} ${problem.status === 500 ? 'failed' : 'unavailable'}: ${String(cause?.message)}`;
    if (problem.status === 500) logger.error(line, { code: cause?.code, stack: cause?.stack });
    else logger.warn(line, { code: cause?.code });
  }
  if (res.headersSent) return;
  sendProblem(res, problem);
};
