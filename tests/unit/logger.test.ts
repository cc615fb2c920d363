import { Writable } from 'node:stream';
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

  it('writes readable lines when not in JSON mode', () => {
    const { log, lines } = capture(false);
    log.warn('disk almost full', { free: '1%' });
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT.* warn disk almost full \{"free":"1%"\}/);
  });
});
