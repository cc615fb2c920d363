import { Router, type Request, type Response } from 'express';
import {
  HTTP_METHODS,
  parametersOf,
  type OpenApiDocument,
  type OpenApiOperation,
} from '../contract';
import type { Services } from '../services';
import type { Context, HandlerMap, OperationId } from './operations';
import { problems } from '../errors';
import { tracked } from './in-flight';
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
function headerParams(req: Request, operation: OpenApiOperation): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const param of parametersOf(operation)) {
    const value = param.in === 'header' ? req.get(param.name) : undefined;
    if (value !== undefined) headers[param.name] = value;
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
 * validator has checked the request and the security handler has identified the caller.
 */
export function bindOperations(
  document: OpenApiDocument,
  handlers: HandlerMap,
  services: Services,
): Router {
  const router = Router();
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of HTTP_METHODS) {
      const operation = item[method];
      if (!operation) continue;
      const handler = handlers[operation.operationId as OperationId] as unknown as AnyHandler;
      const takesToken = (operation.security ?? []).some((req) => 'bearerAuth' in req);
      router[method](toExpressPath(path), async (req: Request, res: Response) => {
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
            path: lowercaseIds(req.params),
            query: lowercaseIds(req.query),
            headers: headerParams(req, operation),
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
  return router;
}
