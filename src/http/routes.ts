import { Router, type Request, type Response } from 'express';
import {
  HTTP_METHODS,
  parametersOf,
  type OpenApiDocument,
  type OpenApiOperation,
} from '../contract';
import type { Services } from '../services';
import type { Context, HandlerMap, OperationId } from './operations';
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
      router[method](toExpressPath(path), async (req: Request, res: Response) => {
        const rejected = rejectedTokenOf(req);
        if (rejected) throw rejected;
        const reply = await tracked(() =>
          handler({
            body: req.body,
            path: req.params,
            query: req.query,
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
