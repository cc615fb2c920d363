import type { LimitState } from './domain';

/**
 * Errors that are answers: services throw them, the HTTP layer renders them as problem details
 * (src/http/problems.ts). Every kind is listed in the document's ProblemType.
 */
export const TITLES = {
  'validation-error': 'Your request is not valid',
  'invalid-token': 'The token is unknown, expired or already used',
  'wrong-password': 'The current password is wrong',
  unauthorized: 'Authentication is required',
  'invalid-credentials': 'The email or password is wrong',
  'email-not-verified': 'The email address is not verified yet',
  forbidden: 'You may not do this',
  'not-found': 'Not found',
  'method-not-allowed': 'Method not allowed',
  conflict: 'The request conflicts with the current state',
  'email-taken': 'An account with this email already exists',
  'course-full': 'The course is full',
  'course-not-published': 'The course is not open for enrollment',
  'last-admin': 'The last active admin cannot be removed',
  'owns-courses': 'The account still owns courses',
  'capacity-below-enrolled': 'The capacity is below the number of enrolled students',
  'enrollment-required': 'An active enrollment in the course is required',
  'outline-mismatch': 'The outline does not name each section and lesson exactly once',
  'section-not-empty': 'The section still holds lessons',
  'idempotency-key-in-flight': 'A request with this idempotency key is still running',
  'precondition-failed': 'The resource has changed since you read it',
  'payload-too-large': 'The request body is too large',
  'unsupported-media-type': 'The request body must be JSON',
  'idempotency-key-reused': 'The idempotency key was used for another request',
  'rate-limited': 'Too many requests',
  'internal-error': 'Something went wrong on our side',
  'not-implemented': 'Not implemented yet',
  'service-unavailable': 'The service is unavailable, try again shortly',
} as const;

export type ProblemKind = keyof typeof TITLES;

export interface FieldError {
  path: string;
  message: string;
}

/** What a problem tells besides its body; the HTTP layer turns it into header fields. */
export interface ProblemExtra {
  errors?: FieldError[];
  /** Seconds to wait before trying again (Retry-After). */
  retryAfter?: number;
  /** The limit that counted the request (RateLimit-*). */
  limit?: LimitState;
  /** The methods the path does have, on a 405 (Allow). */
  allow?: string;
}

/** An error that is a client-facing answer: thrown anywhere, rendered by `problemHandler`. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly kind: ProblemKind,
    readonly detail?: string,
    readonly extra: ProblemExtra = {},
  ) {
    super(detail ?? TITLES[kind]);
    this.name = 'HttpProblem';
  }
}

export const problems = {
  badRequest: (detail: string, errors?: FieldError[]) =>
    new HttpProblem(400, 'validation-error', detail, { errors }),
  unauthorized: (detail = 'A valid bearer token is required.') =>
    new HttpProblem(401, 'unauthorized', detail),
  forbidden: (detail = 'Your role does not allow this operation.') =>
    new HttpProblem(403, 'forbidden', detail),
  notFound: (detail = 'No such resource.') => new HttpProblem(404, 'not-found', detail),
  conflict: (kind: ProblemKind, detail: string) => new HttpProblem(409, kind, detail),
  tooManyRequests: (limit: LimitState, detail: string) =>
    new HttpProblem(429, 'rate-limited', detail, { retryAfter: limit.resetSeconds, limit }),
  unavailable: (detail = 'The database is not reachable right now.', retryAfter = 5) =>
    new HttpProblem(503, 'service-unavailable', detail, { retryAfter }),
};
