import argon2 from 'argon2';
import { HttpProblem } from '../../src/errors';
import {
  HASH_OPTIONS,
  createPasswordHasher,
  needsRehash,
  nextEstimate,
} from '../../src/services/passwords';
import { emails } from '../../src/services/mailer';
import { olderHash } from '../helpers/users';

describe('password hashing', () => {
  const hasher = createPasswordHasher();

  it('uses argon2id at OWASP cost or above, and verifies', async () => {
    const hash = await hasher.hash('correct horse battery');
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=7168,p=1,t=5\$/);
    expect(await hasher.verify(hash, 'correct horse battery')).toBe(true);
    expect(await hasher.verify(hash, 'wrong horse battery')).toBe(false);
  });

  it('is false, not an error, for a hash that does not parse (a deleted account)', async () => {
    expect(await hasher.verify('!', 'anything at all')).toBe(false);
    expect(needsRehash('!')).toBe(false);
  });

  it('verifies a hash made with other settings, and says it needs remaking', async () => {
    const older = await olderHash('correct horse battery');
    expect(await hasher.verify(older, 'correct horse battery')).toBe(true);
    expect(needsRehash(older)).toBe(true);
    expect(needsRehash(await hasher.hash('correct horse battery'))).toBe(false);
  });

  it('verifyNothing fails after a real argon2id verification with the live parameters', async () => {
    await hasher.warmUp();
    const verify = jest.spyOn(argon2, 'verify');
    try {
      expect(await hasher.verifyNothing('anything at all')).toBe(false);
      expect(verify).toHaveBeenCalledTimes(1);
      const [dummy, password] = verify.mock.calls[0]!;
      expect(password).toBe('anything at all');
      expect(dummy).toMatch(/^\$argon2id\$v=19\$m=7168,p=1,t=5\$/);
      expect(argon2.needsRehash(dummy, HASH_OPTIONS)).toBe(false);
    } finally {
      verify.mockRestore();
    }
  });

  it('answers 503 with Retry-After once more hashes wait than the queue holds', async () => {
    const small = createPasswordHasher({ concurrency: 1, maxWaiting: 2 });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 6 }, () => small.hash('correct horse battery')),
    );
    const refused = outcomes.filter((o) => o.status === 'rejected');
    // One runs, two wait, three are refused at once.
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(3);
    expect(refused).toHaveLength(3);
    for (const o of refused) {
      const problem = (o as PromiseRejectedResult).reason as HttpProblem;
      expect(problem).toBeInstanceOf(HttpProblem);
      expect(problem.status).toBe(503);
      expect(problem.extra.retryAfter).toBe(1);
    }
    // The queue drains: the next hash runs.
    expect(small.queue()).toMatchObject({ running: 0, waiting: 0 });
    await expect(small.hash('correct horse battery')).resolves.toMatch(/^\$argon2id/);
  });

  it('refuses at admission, before any other work, exactly when a hash would be refused', async () => {
    const small = createPasswordHasher({ concurrency: 1, maxWaiting: 1 });
    expect(() => small.admit()).not.toThrow();
    const running = small.hash('correct horse battery');
    // One runs and the queue has a place: still admitted.
    expect(() => small.admit()).not.toThrow();
    const waiting = small.hash('correct horse battery');
    let refusal: unknown;
    try {
      small.admit();
    } catch (err) {
      refusal = err;
    }
    expect(refusal).toBeInstanceOf(HttpProblem);
    expect(refusal).toMatchObject({ status: 503, extra: { retryAfter: 1 } });
    // The queue itself agrees.
    await expect(small.hash('correct horse battery')).rejects.toMatchObject({ status: 503 });
    await Promise.all([running, waiting]);
    expect(() => small.admit()).not.toThrow();
  });

  it('believes a faster hash at once and a slower one a little at a time', () => {
    expect(nextEstimate(30, 24)).toBe(24);
    // Ten hashes at twice the cost (the core busy elsewhere for a moment) move it by 40%, not 100%.
    let estimate = 25;
    for (let i = 0; i < 10; i++) estimate = nextEstimate(estimate, 50);
    expect(estimate).toBeGreaterThan(30);
    expect(estimate).toBeLessThan(36);
    // A machine that stays slower is believed in the end.
    for (let i = 0; i < 200; i++) estimate = nextEstimate(estimate, 50);
    expect(estimate).toBeGreaterThan(49);
  });

  it('sizes the queue to about a second of hashing once it has timed some', async () => {
    const timed = createPasswordHasher({ concurrency: 2 });
    for (let i = 0; i < 5; i++) await timed.hash('correct horse battery');
    const { maxWaiting } = timed.queue();
    // 2 workers at 5 to 500 ms a hash get through 4 to 400 hashes in a second.
    expect(maxWaiting).toBeGreaterThanOrEqual(4);
    expect(maxWaiting).toBeLessThanOrEqual(400);
  });
});

describe('emails', () => {
  it('carry the link in text and HTML, with the name escaped in HTML', () => {
    const mail = emails.passwordReset(
      'https://app.example',
      { email: 'a@example.com', name: '<Ada>', locale: 'en' },
      'tok_en-1',
    );
    expect(mail.text).toContain('https://app.example/reset-password?token=tok_en-1');
    expect(mail.html).toContain('href="https://app.example/reset-password?token=tok_en-1"');
    expect(mail.html).toContain('&#60;Ada&#62;');
    expect(mail.html).not.toContain('<Ada>');
  });
});
