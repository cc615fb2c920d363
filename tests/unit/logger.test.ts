import { redact } from '../../src/logger';

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
