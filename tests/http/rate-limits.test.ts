import { describeEachDatabase } from '../helpers/app';
import { PASSWORD, login, uniqueEmail } from '../helpers/auth-flows';
import { createUser } from '../helpers/users';

const PROBLEM = 'https://opencourse.dev/problems/';

describeEachDatabase(
  'rate limits',
  (current) => {
    const api = () => current().request();

    it('sensitive routes: RateLimit headers, then 429 with Retry-After, X-Forwarded-For ignored', async () => {
      const first = await api().post('/api/v1/auth/password-reset').send({ email: uniqueEmail() });
      expect(first.status).toBe(202);
      expect(first.headers['ratelimit-limit']).toBe('2');
      expect(first.headers['ratelimit-remaining']).toBe('1');
      expect(Number(first.headers['ratelimit-reset'])).toBeGreaterThan(0);
      const second = await api()
        .post('/api/v1/auth/register')
        .send({ email: uniqueEmail(), password: PASSWORD, name: 'Two' });
      expect(second.status).toBe(201);
      expect(second.headers['ratelimit-remaining']).toBe('0');

      const third = await api()
        .post('/api/v1/auth/verify-email/resend')
        .send({ email: uniqueEmail() });
      expect(third.status).toBe(429);
      expect(Number(third.headers['retry-after'])).toBeGreaterThan(0);
      expect(third.headers['ratelimit-limit']).toBe('2');
      expect(third.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(third.body).toMatchObject({ type: `${PROBLEM}rate-limited`, status: 429 });

      // TRUST_PROXY is false: a made-up client address does not start a fresh count.
      const dodge = await api()
        .post('/api/v1/auth/password-reset')
        .set('X-Forwarded-For', '203.0.113.9')
        .send({ email: uniqueEmail() });
      expect(dodge.status).toBe(429);
    });

    it('login: 429 after the failures, even with the right password; others are unaffected', async () => {
      const user = await createUser(current());
      for (let i = 0; i < 3; i++) {
        const failed = await login(current(), user.email, 'not the password at all');
        expect(failed.status).toBe(401);
        // Each failure tells the client how many attempts are left.
        expect(failed.headers['ratelimit-limit']).toBe('3');
        expect(failed.headers['ratelimit-remaining']).toBe(String(2 - i));
      }
      const locked = await login(current(), user.email, user.password);
      expect(locked.status).toBe(429);
      // The lock-out runs 15 minutes from the failure that reached the limit.
      expect(Number(locked.headers['retry-after'])).toBeGreaterThan(890);
      expect(locked.headers['ratelimit-remaining']).toBe('0');
      expect(locked.body.type).toBe(`${PROBLEM}rate-limited`);
      // Case does not make another email.
      expect((await login(current(), user.email.toUpperCase(), user.password)).status).toBe(429);
      const dodge = await api()
        .post('/api/v1/auth/login')
        .set('X-Forwarded-For', '203.0.113.10')
        .send({ email: user.email, password: user.password });
      expect(dodge.status).toBe(429);

      const other = await createUser(current());
      expect((await login(current(), other.email, other.password)).status).toBe(200);
    });

    it('an unknown email counts its failures too', async () => {
      const ghost = uniqueEmail('ghost');
      for (let i = 0; i < 3; i++)
        expect((await login(current(), ghost, 'whatever it is')).status).toBe(401);
      expect((await login(current(), ghost, 'whatever it is')).status).toBe(429);
    });

    it('a success resets the count', async () => {
      const user = await createUser(current());
      const fail = () => login(current(), user.email, 'not the password at all');
      expect((await fail()).status).toBe(401);
      expect((await fail()).status).toBe(401);
      expect((await login(current(), user.email, user.password)).status).toBe(200);
      expect((await fail()).status).toBe(401);
      expect((await fail()).status).toBe(401);
      expect((await login(current(), user.email, user.password)).status).toBe(200);
    });
  },
  { RATE_LIMIT_SENSITIVE_PER_HOUR: '2', LOGIN_MAX_FAILURES: '3', TRUST_PROXY: 'false' },
);
