import type { Request, RequestHandler, Response } from 'express';
import { HTTP_METHODS, parametersOf, type OpenApiDocument } from '../contract';
import type { Services } from '../services';
import type { Context, HandlerMap, OperationId } from './operations';
import { problems } from '../errors';
import { tracked } from './in-flight';
import { matchedOperationKey, matchOf, operationKey } from './matched-operation';
import { callerOf, rejectedTokenOf } from './security';

type AnyHandler = (ctx: Context<unknown>) => Promise<{
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}>;

/** `/courses/{courseId}` in the document is `/courses/:courseId` to Express. */
export function toExpressPath(path: string): string {
  return path.replace(/\{([^}]+)\}/g, ':$1');
}

/** Declared header parameters, read by their documented names. */
function headerParams(req: Request, names: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of names) {
    const value = req.get(name);
    if (value !== undefined) headers[name] = value;
  }
  return headers;
}

/**
 * Ids are UUIDs, which compare without regard to case; PostgreSQL's uuid type does so, SQLite's
 * text does not. Every `...Id` parameter is handed on in lowercase, as ids are made.
 */
function lowercaseIds(params: object): Record<string, unknown> {
  const out: Record<string, unknown> = { ...params };
  for (const [name, value] of Object.entries(out)) {
    if (name.endsWith('Id') && typeof value === 'string') out[name] = value.toLowerCase();
  }
  return out;
}

/**
 * Binds every operation of the document to its handler. By the time a handler runs, the
 * validator has checked the request and the security handler has identified the caller; the
 * validator has also found the request's operation, so it is looked up here by that match
 * rather than routed a second time.
 */
export function bindOperations(
  document: OpenApiDocument,
  handlers: HandlerMap,
  services: Services,
): RequestHandler {
  const bound = new Map<string, (req: Request, res: Response) => Promise<void>>();
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of HTTP_METHODS) {
      const operation = item[method];
      if (!operation) continue;
      const handler = handlers[operation.operationId as OperationId] as unknown as AnyHandler;
      const takesToken = (operation.security ?? []).some((req) => 'bearerAuth' in req);
      const headerNames = parametersOf(operation)
        .filter((param) => param.in === 'header')
        .map((param) => param.name);
      bound.set(operationKey(method, path), async (req, res) => {
        // Where a token is optional, the validator lets a request through when the token fails.
        // One that was sent but is unusable (bad, revoked, or not even "Bearer") is a 401 all the
        // same, never a silent downgrade to anonymous.
        if (takesToken && req.get('authorization') !== undefined && !callerOf(req)) {
          throw (
            rejectedTokenOf(req) ??
            problems.unauthorized('The Authorization header must be "Bearer <token>".')
          );
        }
        const reply = await tracked(() =>
          handler({
            body: req.body,
            path: lowercaseIds(matchOf(req)?.pathParams ?? {}),
            query: lowercaseIds(req.query),
            headers: headerParams(req, headerNames),
            caller: callerOf(req),
            services,
            req,
            res,
          } as Context<unknown>),
        );
        for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
        res.status(reply.status);
        if (reply.body === undefined) res.end();
        else res.json(reply.body);
      });
    }
  }
  return (req, res, next) => {
    const key = matchedOperationKey(req);
    const run = key && bound.get(key);
    return run ? run(req, res) : next();
  };
}
