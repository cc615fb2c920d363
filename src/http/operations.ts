import type { Request, Response } from 'express';
import type { operations } from '../generated/openapi';
import type { Caller } from '../services/auth';
import type { Services } from '../services';

/**
 * The handler map's types, derived from the generated `operations`: every operationId must have
 * a handler, and each handler's input and output are the document's, checked by the compiler.
 */
export type OperationId = {
  // The document's `webhooks` (the messages sent to partners' endpoints) are operations too, but
  // the server does not answer them: they alone declare no responses.
  [K in keyof operations]: [operations[K]['responses']] extends [never] ? never : K;
}[keyof operations];

type JsonOf<T> = T extends { content: { 'application/json': infer B } } ? B : undefined;

type BodyOf<O> = O extends { requestBody: infer R }
  ? JsonOf<R>
  : O extends { requestBody?: infer R }
    ? JsonOf<NonNullable<R>> | undefined
    : undefined;

type ParamsOf<O, In extends 'path' | 'query' | 'header'> = O extends {
  parameters: { [K in In]?: infer P };
}
  ? [P] extends [undefined | never]
    ? Record<string, never>
    : NonNullable<P>
  : Record<string, never>;

type SuccessStatus = 200 | 201 | 202 | 204 | 304;

/** What a handler returns: one of the operation's success responses, its body typed. */
export type Reply<O> = O extends { responses: infer R }
  ? {
      [S in keyof R & SuccessStatus]: JsonOf<R[S]> extends undefined
        ? { status: S; body?: undefined; headers?: Record<string, string> }
        : { status: S; body: JsonOf<R[S]>; headers?: Record<string, string> };
    }[keyof R & SuccessStatus]
  : never;

export interface Context<O> {
  body: BodyOf<O>;
  path: ParamsOf<O, 'path'>;
  query: ParamsOf<O, 'query'>;
  headers: ParamsOf<O, 'header'>;
  /** The authenticated caller, set by the security handler; undefined on public operations. */
  caller: Caller | undefined;
  services: Services;
  req: Request;
  res: Response;
}

export type Handler<K extends OperationId> = (
  ctx: Context<operations[K]>,
) => Promise<Reply<operations[K]>>;

export type HandlerMap = { [K in OperationId]: Handler<K> };

/** A handler for an operation that requires a bearer token: the caller is always there. */
export function requireCaller(caller: Caller | undefined): Caller {
  if (!caller) throw new Error('security handler did not run for a secured operation');
  return caller;
}
