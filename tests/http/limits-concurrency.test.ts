import { randomInt } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { Response } from 'supertest';
import { describeEachDatabase, type TestApp } from '../helpers/app';
import { uniqueEmail } from '../helpers/auth-flows';
import { DIALECTS } from '../helpers/databases';
import { buildInstances } from '../helpers/instances';
import { bearer, createUser } from '../helpers/users';

const PROBLEM = 'https://opencourse.dev/problems/';
const WRONG = 'not the password at all';
const NEW_PASSWORD = 'a brand new passphrase 2';
const describePg = DIALECTS.includes('postgresql') ? describe : describe.skip;

/** A client address of its own per test (TRUST_PROXY=1), so no counter of another test, or of an
 * earlier run against the same Redis, is in the way. */
const freshAddress = () => `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;

/** How many answers had each status: `{ 401: 5, 429: 35 }`. */
function countStatuses(responses: Response[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const res of responses) counts[res.status] = (counts[res.status] ?? 0) + 1;
  return counts;
}

/**
 * Every answer is `checked` (one password check each, at least one and at most `max` of them) or
 * a 429 rate-limited problem that says when to come back. Fails with the whole tally, e.g.
 * `{"401":40}`, so the failure says what the burst got.
 */
function expectAtMost(responses: Response[], checked: number, max: number): void {
  const counts = countStatuses(responses);
  const others = Object.keys(counts).filter((s) => Number(s) !== checked && Number(s) !== 429);
  const checks = counts[checked] ?? 0;
  if (others.length > 0 || checks < 1 || checks > max) {
    throw new Error(
      `expected 1 to ${max} answers ${checked} and the rest 429; got ${JSON.stringify(counts)}`,
    );
  }
  for (const refused of responses.filter((res) => res.status === 429)) {
    expect(refused.body.type).toBe(`${PROBLEM}rate-limited`);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
  }
}

const loginFrom = (t: TestApp, address: string, email: string, password: string) =>
  t.request().post('/api/v1/auth/login').set('X-Forwarded-For', address).send({ email, password });

/**
 * Each burst runs on an app of its own: the hashing queue sizes its room by a moving average of
 * the hashes it has timed, and an earlier test's hashes (createUser's use argon2's heavier
 * defaults) would leave it less room, turning part of a burst into 503s that this file is not
 * about.
 */
const BURST_ENV = { LOGIN_MAX_FAILURES: '5', LOGIN_MAX_FAILURES_PER_DAY: '10', TRUST_PROXY: '1' };

describeEachDatabase(
  'login limit per email and address under concurrency',
  (current) => {
    it('40 wrong logins at once for one email get at most LOGIN_MAX_FAILURES password checks', async () => {
      const user = await createUser(current());
      const address = freshAddress();
      const burst = await Promise.all(
        Array.from({ length: 40 }, () => loginFrom(current(), address, user.email, WRONG)),
      );
      expectAtMost(burst, 401, 5);

      const right = await loginFrom(current(), address, user.email, user.password);
      expect(right.status).toBe(429);
      expect(Number(right.headers['retry-after'])).toBeGreaterThan(0);
    });
  },
  BURST_ENV,
);

describeEachDatabase(
  'daily login limit per address under concurrency',
  (current) => {
    it('40 wrong logins at once for different emails get at most LOGIN_MAX_FAILURES_PER_DAY checks', async () => {
      const address = freshAddress();
      const burst = await Promise.all(
        Array.from({ length: 40 }, () => loginFrom(current(), address, uniqueEmail('day'), WRONG)),
      );
      expectAtMost(burst, 401, 10);
    });
  },
  BURST_ENV,
);

describeEachDatabase(
  'changePassword limit per user under concurrency',
  (current) => {
    it('20 wrong current passwords at once get at most LOGIN_MAX_FAILURES checks, then 429 per user', async () => {
      const t = current();
      const user = await createUser(t);
      const { users } = t.database.t;
      const hashOf = async () =>
        (
          await t.database.db
            .select({ hash: users.passwordHash })
            .from(users)
            .where(eq(users.id, user.id))
        )[0]?.hash;
      const before = await hashOf();

      const change = (currentPassword: string) =>
        t
          .request()
          .post('/api/v1/users/me/password')
          .set(bearer(user))
          .send({ currentPassword, newPassword: NEW_PASSWORD });
      const burst = await Promise.all(Array.from({ length: 20 }, () => change(WRONG)));
      expectAtMost(burst, 400, 5);
      for (const wrong of burst.filter((res) => res.status === 400))
        expect(wrong.body.type).toBe(`${PROBLEM}wrong-password`);

      // The lock is per user for 15 minutes: the right password does not get through either.
      const right = await change(user.password);
      expect(right.status).toBe(429);
      expect(right.body.type).toBe(`${PROBLEM}rate-limited`);
      expect(Number(right.headers['retry-after'])).toBeGreaterThan(0);
      expect(await hashOf()).toBe(before);
    });
  },
  BURST_ENV,
);

describePg('login limits on two instances sharing one PostgreSQL database', () => {
  describe.each([
    ['in PostgreSQL', {}],
    ['in Redis (REDIS_URL)', { REDIS_URL: 'redis://127.0.0.1:6379' }],
  ])('limit state %s', (_store, storeEnv: Record<string, string>) => {
    let ctx: Awaited<ReturnType<typeof buildInstances>> | undefined;
    beforeAll(async () => {
      ctx = await buildInstances(2, {
        LOGIN_MAX_FAILURES: '5',
        LOGIN_MAX_FAILURES_PER_DAY: '1000',
        TRUST_PROXY: '1',
        ...storeEnv,
      });
    });
    afterAll(async () => {
      await ctx?.close();
    });

    it('a burst of 40 wrong logins split between them gets at most 5 password checks in total', async () => {
      const [a, b] = ctx!.instances as [TestApp, TestApp];
      // createUser gives a fresh email, so keys left in Redis by earlier runs do not matter.
      const user = await createUser(a);
      const address = freshAddress();
      const burst = await Promise.all(
        Array.from({ length: 40 }, (_, i) => loginFrom(i % 2 ? b : a, address, user.email, WRONG)),
      );
      expectAtMost(burst, 401, 5);

      for (const instance of [a, b]) {
        const right = await loginFrom(instance, address, user.email, user.password);
        expect(right.status).toBe(429);
      }
    });
  });
});
