import type { Request } from 'express';

/** What express-openapi-validator records on a request it matched to an operation. */
export interface ValidatorMatch {
  /** The documented path template, `/api/v1/courses/{courseId}`. */
  openApiRoute: string;
  pathParams: Record<string, string>;
}

/** The validator's match of a request; undefined until it has run, or where nothing matched. */
export function matchOf(req: object): ValidatorMatch | undefined {
  return (req as { openapi?: ValidatorMatch }).openapi;
}

/** An operation's key, `GET /api/v1/courses/{courseId}`: its method and documented path. */
export const operationKey = (method: string, path: string) => `${method.toUpperCase()} ${path}`;

/** The key (`operationKey`) of the operation the validator matched the request to. */
export function matchedOperationKey(req: Request): string | undefined {
  const match = matchOf(req);
  // Node gives the method in capitals already: nothing to convert per request.
  return match && `${req.method} ${match.openApiRoute}`;
}
