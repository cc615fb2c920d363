import { Writable } from 'node:stream';
import {
  ROOT_CONTEXT,
  context,
  trace,
  type Context,
  type ContextManager,
} from '@opentelemetry/api';
import winston from 'winston';
import { createLogger, redact, requestContext } from '../../src/logger';

describe('redact', () => {
  it('hides every secret-looking key at any depth and keeps the rest', () => {
    expect(
      redact({
        email: 'a@example.com',
        password: 'hunter2hunter2',
        headers: { authorization: 'Bearer x', accept: 'json' },
        items: [{ refreshToken: 'r', name: 'n' }],
        passwordHash: '$argon2id$...',
      }),
    ).toEqual({
      email: 'a@example.com',
      password: '[redacted]',
      headers: { authorization: '[redacted]', accept: 'json' },
      items: [{ refreshToken: '[redacted]', name: 'n' }],
      passwordHash: '[redacted]',
    });
  });
});

describe('createLogger', () => {
  function capture(json: boolean) {
    const lines: string[] = [];
    const log = createLogger('info', json);
    log.clear().add(
      new winston.transports.Stream({
        stream: new Writable({
          write(chunk, _enc, done) {
            lines.push(String(chunk));
            done();
          },
        }),
      }),
    );
    return { log, lines };
  }

  it('stamps every line written inside a request with its id, and redacts secrets', () => {
    const { log, lines } = capture(true);
    requestContext.run({ requestId: 'req-42' }, () => {
      log.info('login attempt', { email: 'a@example.com', password: 'hunter2hunter2' });
    });
    log.info('outside any request');
    const [inside, outside] = lines.map((line) => JSON.parse(line));
    expect(inside).toMatchObject({
      requestId: 'req-42',
      email: 'a@example.com',
      password: '[redacted]',
    });
    expect(outside.requestId).toBeUndefined();
  });

  it('stamps every line written while a span is active with its trace and span ids', () => {
    // What the SDK's context manager does across async calls, for synchronous code only.
    class SyncContextManager implements ContextManager {
      private current: Context = ROOT_CONTEXT;
      active() {
        return this.current;
      }
      with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
        ctx: Context,
        fn: F,
        thisArg?: ThisParameterType<F>,
        ...args: A
      ): ReturnType<F> {
        const saved = this.current;
        this.current = ctx;
        try {
          return fn.call(thisArg, ...args);
        } finally {
          this.current = saved;
        }
      }
      bind<T>(_ctx: Context, target: T): T {
        return target;
      }
      enable() {
        return this;
      }
      disable() {
        this.current = ROOT_CONTEXT;
        return this;
      }
    }
    const { log, lines } = capture(true);
    const span = trace.wrapSpanContext({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: 1,
    });
    log.info('before tracing starts');
    context.setGlobalContextManager(new SyncContextManager());
    try {
      context.with(trace.setSpan(context.active(), span), () => log.info('inside a span'));
      log.info('outside any span');
    } finally {
      context.disable();
    }
    const [before, inside, outside] = lines.map((line) => JSON.parse(line));
    expect(inside).toMatchObject({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
    });
    for (const line of [before, outside]) {
      expect(line).not.toHaveProperty('traceId');
      expect(line).not.toHaveProperty('spanId');
    }
  });

  it('writes readable lines when not in JSON mode', () => {
    const { log, lines } = capture(false);
    log.warn('disk almost full', { free: '1%' });
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT.* warn disk almost full \{"free":"1%"\}/);
  });
});
