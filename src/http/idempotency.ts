import { hash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Request, RequestHandler, Response } from 'express';
import { HTTP_METHODS, parametersOf, type OpenApiDocument } from '../contract';
import { driverErrorOf } from '../data/database';
import { logger } from '../logger';
import type { Services } from '../services';
import { clientKey } from '../services/client-address';
import type { StoredAnswer } from '../services/idempotency';
import { tracked } from './in-flight';
import { matchedOperationKey, operationKey } from './matched-operation';
import { callerOf } from './security';

const HEADER = 'idempotency-key';

const sha256 = (data: string | Buffer) => hash('sha256', data, 'hex');
const EMPTY_BODY = sha256('');

/** The raw body's digest of each request that carries a key, taken before the body is parsed. */
const bodyDigests = new WeakMap<IncomingMessage, string>();

/**
 * body-parser's `verify` hook (beside `verifyDepth`): the digest of the body exactly as it came,
 * for requests with an Idempotency-Key. A retry resends the same bytes, so byte equality is the
 * test: no canonical form to get wrong, and nothing kept of other requests.
 */
export function digestBody(req: IncomingMessage, _res: unknown, body: Buffer): void {
  if (req.headers[HEADER] !== undefined) bodyDigests.set(req, sha256(body));
}

/** What makes a retry the same request: the target (path and query) and the body, as sent. */
function fingerprintOf(req: Request): string {
  return sha256(`${req.originalUrl}\n${bodyDigests.get(req) ?? EMPTY_BODY}`);
}

/** Header fields that belong to one exchange, never to a kept answer. */
const EXCHANGE_HEADERS = new Set([
  'connection',
  'content-length',
  'date',
  'keep-alive',
  'transfer-encoding',
]);

type HeaderValue = string | string[];
const headerValue = (value: number | string | string[]): HeaderValue =>
  Array.isArray(value) ? value.map(String) : String(value);

/**
 * The response's header fields by lowercase name, each with its name in the case it was set in
 * (`Location`, not `location`), so that a replay sends it as the first answer did. Node keeps
 * that case for every outgoing message; its types declare the method on client requests only.
 */
function headersOf(res: Response): Map<string, [name: string, value: HeaderValue]> {
  const headers = new Map<string, [string, HeaderValue]>();
  const raw = res as Response & { getRawHeaderNames?: () => string[] };
  for (const name of raw.getRawHeaderNames?.() ?? res.getHeaderNames()) {
    const value = res.getHeader(name);
    if (value !== undefined) headers.set(name.toLowerCase(), [name, headerValue(value)]);
  }
  return headers;
}

const same = (a: HeaderValue | undefined, b: HeaderValue) =>
  JSON.stringify(a) === JSON.stringify(b);

type Settle = (answer: StoredAnswer | undefined) => Promise<void>;
type Chunk = string | Uint8Array | undefined | null;
type Callback = (() => void) | undefined;

/**
 * Holds the response back until `settle` has kept its answer (or given the key up), so that once
 * a client has an answer, a retry on any instance finds it. The answer is the status, the body's
 * bytes as written, whoever wrote them (the handler, the problem handler), and the header fields
 * set from here on (`Location`, `ETag`, `Content-Type`...). Those set before, on every response
 * (request id, rate limits, security headers), belong to the exchange: the replay's own pipeline
 * sets them afresh. `settle` gets undefined for a body that is not UTF-8 text, which the table
 * could not give back byte for byte (JSON always is).
 */
function holdAnswer(res: Response, settle: Settle): void {
  const before = headersOf(res);
  const chunks: Buffer[] = [];
  const collect = (chunk: Chunk, encoding?: BufferEncoding) => {
    if (chunk === undefined || chunk === null) return;
    chunks.push(
      typeof chunk === 'string' ? Buffer.from(chunk, encoding ?? 'utf8') : Buffer.from(chunk),
    );
  };
  const { write, end } = res;

  res.write = function (chunk: Chunk, encoding?: BufferEncoding | Callback, callback?: Callback) {
    collect(chunk, typeof encoding === 'string' ? encoding : undefined);
    (typeof encoding === 'function' ? encoding : callback)?.();
    return true;
  } as Response['write'];

  res.end = function (
    chunk?: Chunk | Callback,
    encoding?: BufferEncoding | Callback,
    callback?: Callback,
  ) {
    if (typeof chunk === 'function') callback = chunk;
    else if (typeof encoding === 'function') callback = encoding;
    if (typeof chunk !== 'function')
      collect(chunk, typeof encoding === 'string' ? encoding : undefined);
    res.write = write;
    res.end = end;
    const body = Buffer.concat(chunks);
    const text = body.toString('utf8');
    const headers: Record<string, HeaderValue> = {};
    for (const [lower, [name, value]] of headersOf(res)) {
      if (!EXCHANGE_HEADERS.has(lower) && !same(before.get(lower)?.[1], value)) {
        headers[name] = value;
      }
    }
    const answer = Buffer.from(text, 'utf8').equals(body)
      ? { status: res.statusCode, headers, body: text }
      : undefined;
    void tracked(() =>
      settle(answer).catch((err: unknown) => {
        // The key stays claimed until its lease runs out: retries meanwhile get a 409.
        const cause = driverErrorOf(err) as { message?: unknown };
        logger.warn(`keeping an idempotent answer failed: ${String(cause?.message)}`);
      }),
    ).then(() => end.call(res, body, 'binary', callback));
    return res;
  } as Response['end'];
}

/** Sends a kept answer again, byte for byte, saying so. */
function replay(res: Response, answer: StoredAnswer): void {
  for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
  const body = Buffer.from(answer.body, 'utf8');
  res.setHeader('Idempotent-Replayed', 'true');
  res.setHeader('Content-Length', body.length);
  res.status(answer.status).end(body);
}

/**
 * Idempotency-Key (api-v1.md, Partner integrations) on every operation that declares the header
 * in the document. Mounted after the validator, so that the key's format is checked and the
 * caller known, and before the operations: the first request with a key runs and its answer is
 * kept; a retry gets that answer again; another request with the key is a 422; a retry while the
 * first still runs is a 409. Keys are scoped to the caller (the token's user, or the client
 * address for anonymous calls) and the operation.
 */
export function idempotentOperations(
  document: OpenApiDocument,
  services: Services,
): RequestHandler {
  const operations = new Map<string, { operationId: string; takesToken: boolean }>();
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of HTTP_METHODS) {
      const operation = item[method];
      if (!operation) continue;
      const takesKey = parametersOf(operation).some(
        (param) => param.in === 'header' && param.name.toLowerCase() === HEADER,
      );
      if (!takesKey) continue;
      operations.set(operationKey(method, path), {
        operationId: operation.operationId,
        takesToken: (operation.security ?? []).some((req) => 'bearerAuth' in req),
      });
    }
  }

  return async (req, res, next) => {
    const matchedKey = matchedOperationKey(req);
    const operation = matchedKey && operations.get(matchedKey);
    const key = req.get(HEADER);
    if (!operation || key === undefined) return next();
    const caller = callerOf(req);
    // A token that was sent and refused is a 401 from the operations, with nothing to keep.
    if (operation.takesToken && !caller && req.get('authorization') !== undefined) return next();
    const scope = caller ? `user:${caller.userId}` : `address:${clientKey(req.ip ?? 'unknown')}`;
    const id = sha256(JSON.stringify([scope, operation.operationId, key]));
    const { idempotency } = services;
    const stored = await idempotency.begin(id, fingerprintOf(req));
    if (stored) return replay(res, stored);
    holdAnswer(res, (answer) =>
      answer ? idempotency.finish(id, answer) : idempotency.release(id),
    );
    next();
  };
}
