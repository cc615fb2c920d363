import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import { logger, requestContext } from '../logger';
import { matchOf } from './matched-operation';

const CLIENT_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** Gives every request an id (the client's own when it is sane), echoed and logged. */
export const requestId: RequestHandler = (req, res, next) => {
  const given = req.get('X-Request-Id');
  const id = given !== undefined && CLIENT_ID.test(given) ? given : randomUUID();
  res.setHeader('X-Request-Id', id);
  requestContext.run({ requestId: id }, next);
};

/** One access line per request, written when the response is finished. */
export const accessLog: RequestHandler = (req, res, next) => {
  // winston formats a line before its transports drop it by level: ask first, so a server
  // logging at `warn` pays nothing per request for access lines nobody writes.
  if (!logger.isLevelEnabled('info')) return next();
  const started = process.hrtime.bigint();
  const requestId = String(res.getHeader('X-Request-Id'));
  res.on('finish', () => {
    const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
    // The documented route, not the raw URL: ids stay out of the route field.
    const route = matchOf(req)?.openApiRoute ?? req.path;
    logger.info(`${req.method} ${route} ${res.statusCode} ${durationMs.toFixed(1)}ms`, {
      requestId,
      method: req.method,
      route,
      status: res.statusCode,
      durationMs: Math.round(durationMs * 10) / 10,
    });
  });
  next();
};
