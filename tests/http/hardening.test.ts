import { randomBytes, randomInt } from 'node:crypto';
import argon2 from 'argon2';
import { eq } from 'drizzle-orm';
import { buildTestApp, describeEachDatabase, type TestApp } from '../helpers/app';
import { PASSWORD, auth, uniqueEmail } from '../helpers/auth-flows';
import { DIALECTS } from '../helpers/databases';
import { catchMailFor } from '../helpers/smtp';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy';
import { bearer, createUser } from '../helpers/users';
import { withinOneMinuteWindow } from '../helpers/windows';

const PROBLEM = 'https://opencourse.dev/problems/';
const describePg = DIALECTS.includes('postgresql') ? describe : describe.skip;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A client address of its own (with TRUST_PROXY=1), so counters of other tests, or of earlier
 * runs against the same Redis, are not in the way. */
const freshAddress = () => `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;

/** Whether `email` is something the contract's email format could accept, roughly. */
const looksLikeEmail = (email: string) => /^[^@]+@[^@]+\.[^@]+$/.test(email);

async function storedEmail(t: TestApp, userId: string): Promise<string | undefined> {
  const { users } = t.database.t;
  const rows = await t.database.db
    .select({ email: users.email })
    .from(users)
    .where(eq(users.id, userId));
  return rows[0]?.email;
}

describeEachDatabase('hardening', (current) => {
  const api = () => current().request();

  it('deeply nested JSON is a 400, never a 500', async () => {
    const post = (body: string) =>
      api().post('/api/v1/auth/login').set('Content-Type', 'application/json').send(body);
    const nested = (depth: number) => '{"a":'.repeat(depth - 1) + '{}' + '}'.repeat(depth - 1);

    const bodies = {
      arrays: '{"email":' + '['.repeat(5000) + ']'.repeat(5000) + ',"password":"x"}',
      // 33 levels of objects in all: one more than the contract allows.
      objects: `{"email":"ada@example.com","password":${nested(32)}}`,
      unknownProperty: `{"email":"ada@example.com","password":"long enough password","extra":${nested(30)}}`,
      // As deep as 100 kB allows, inside a property the document does not even know.
      deepest: `{"email":"ada@example.com","password":"x","extra":${'['.repeat(49_000)}${']'.repeat(49_000)}}`,
    };
    const answers = Object.fromEntries(
      await Promise.all(
        Object.entries(bodies).map(async ([name, body]) => [name, await post(body)] as const),
      ),
    );
    expect(Object.fromEntries(Object.entries(answers).map(([k, res]) => [k, res.status]))).toEqual({
      arrays: 400,
      objects: 400,
      unknownProperty: 400,
      deepest: 400,
    });
    for (const res of Object.values(answers)) {
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.type).toMatch(/validation-error$/);
    }
  });

  it('deleted accounts keep no email anyone can register', async () => {
    const t = current();
    const register = (email: string) =>
      api().post('/api/v1/auth/register').send({ email, password: PASSWORD, name: 'Mallory' });

    // A client claims the placeholder of a user who will delete their own account ...
    const self = await createUser(t);
    const claimSelf = await register(`deleted-${self.id}@invalid`);
    const deleteSelf = await api().delete('/api/v1/users/me').set(bearer(self));
    // ... and that of a user an admin will delete.
    const admin = await createUser(t, { role: 'admin' });
    const other = await createUser(t);
    const claimOther = await register(`deleted-${other.id}@invalid`);
    const deleteOther = await api().delete(`/api/v1/users/${other.id}`).set(bearer(admin));

    expect({
      claimSelf: claimSelf.status,
      deleteSelf: deleteSelf.status,
      claimOther: claimOther.status,
      deleteOther: deleteOther.status,
    }).toEqual({ claimSelf: 400, deleteSelf: 204, claimOther: 400, deleteOther: 204 });
    expect(claimSelf.body.errors).toEqual(
      expect.arrayContaining([expect.objectContaining({ path: 'body.email' })]),
    );

    for (const gone of [self, other]) {
      const email = await storedEmail(t, gone.id);
      expect(email).toBeDefined();
      expect(looksLikeEmail(email!)).toBe(false);
      // The old address is free again.
      expect((await register(gone.email)).status).toBe(201);
    }
  });

  it('an email of 254 characters can fail a login, register and log in', async () => {
    const local = randomBytes(32).toString('hex'); // 64 characters
    const domain = `${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(57)}.com`;
    const email = `${local}@${domain}`;
    expect(email).toHaveLength(254);

    const failed = await api().post('/api/v1/auth/login').send({ email, password: 'wrong one' });
    expect(failed.status).toBe(401);
    expect(failed.body.type).toBe(`${PROBLEM}invalid-credentials`);

    const registered = await api()
      .post('/api/v1/auth/register')
      .send({ email, password: PASSWORD, name: 'Long Address' });
    expect(registered.status).toBe(201);
    expect(registered.body.email).toBe(email);
    const login = await api().post('/api/v1/auth/login').send({ email, password: PASSWORD });
    expect(login.status).toBe(200);
  });

  it('the email format is the full one: a domain needs a dot, a local part no empty atom', async () => {
    const refused = ['someone@invalid', 'a@b', 'a..b@example.com'];
    const answers = await Promise.all(
      refused.map((email) =>
        api().post('/api/v1/auth/register').send({ email, password: PASSWORD, name: 'Format' }),
      ),
    );
    expect(answers.map((res) => res.status)).toEqual([400, 400, 400]);
    for (const res of answers) {
      expect(res.body.type).toBe(`${PROBLEM}validation-error`);
      expect(res.body.errors).toEqual(
        expect.arrayContaining([expect.objectContaining({ path: 'body.email' })]),
      );
    }
  });

  it('If-None-Match gives 304 even beside Cache-Control: no-cache or Pragma: no-cache', async () => {
    const owner = await createUser(current(), { role: 'instructor' });
    const created = await api()
      .post('/api/v1/courses')
      .set(bearer(owner))
      .send({ title: 'Conditional requests', status: 'published' });
    expect(created.status).toBe(201);
    const path = `/api/v1/courses/${created.body.id}`;

    const plain = await api().get(path);
    expect(plain.status).toBe(200);
    const etag = plain.headers.etag;
    expect(etag).toMatch(/^"/);

    const noCache = await api()
      .get(path)
      .set('If-None-Match', etag!)
      .set('Cache-Control', 'no-cache');
    const pragma = await api().get(path).set('If-None-Match', etag!).set('Pragma', 'no-cache');
    expect({ noCache: noCache.status, pragma: pragma.status }).toEqual({
      noCache: 304,
      pragma: 304,
    });
  });

  it('answers with tokens or an account’s own data carry Cache-Control: no-store', async () => {
    const user = await createUser(current());
    const admin = await createUser(current(), { role: 'admin' });
    const login = await api()
      .post('/api/v1/auth/login')
      .send({ email: user.email, password: user.password });
    expect(login.status).toBe(200);
    const refresh = await api()
      .post('/api/v1/auth/refresh')
      .send({ refreshToken: login.body.refreshToken });
    expect(refresh.status).toBe(200);
    const answers = {
      login,
      refresh,
      getMe: await api().get('/api/v1/users/me').set(bearer(user)),
      patchMe: await api().patch('/api/v1/users/me').set(bearer(user)).send({ bio: 'Hello' }),
      myEnrollments: await api().get('/api/v1/users/me/enrollments').set(bearer(user)),
      getSelf: await api().get(`/api/v1/users/${user.id}`).set(bearer(user)),
      listUsers: await api().get('/api/v1/users').set(bearer(admin)),
    };
    const seen = Object.fromEntries(
      Object.entries(answers).map(([name, res]) => [
        name,
        { status: res.status, cacheControl: res.headers['cache-control'] },
      ]),
    );
    expect(seen).toEqual(
      Object.fromEntries(
        Object.keys(answers).map((name) => [
          name,
          { status: 200, cacheControl: expect.stringMatching(/\bno-store\b/) },
        ]),
      ),
    );

    const owner = await createUser(current(), { role: 'instructor' });
    const course = await api()
      .post('/api/v1/courses')
      .set(bearer(owner))
      .send({ title: 'Public', status: 'published' });
    const publicCourse = await api().get(`/api/v1/courses/${course.body.id}`);
    expect(publicCourse.status).toBe(200);
    expect(publicCourse.headers['cache-control'] ?? '').not.toMatch(/no-store/);

    // A student's enrollment and progress, and the roster of a course, are accounts' data too.
    const courseApi = `/api/v1/courses/${course.body.id}`;
    const enrollment = {
      enroll: await api().post(`${courseApi}/enroll`).set(bearer(user)),
      enrollAgain: await api().post(`${courseApi}/enroll`).set(bearer(user)),
      progress: await api().get(`${courseApi}/progress`).set(bearer(user)),
      roster: await api().get(`${courseApi}/enrollments/`).set(bearer(owner)),
      unenroll: await api().delete(`${courseApi.toUpperCase()}/ENROLL`).set(bearer(user)),
    };
    expect(
      Object.fromEntries(
        Object.entries(enrollment).map(([name, res]) => [
          name,
          { status: res.status, cacheControl: res.headers['cache-control'] },
        ]),
      ),
    ).toEqual({
      enroll: { status: 201, cacheControl: 'no-store' },
      enrollAgain: { status: 200, cacheControl: 'no-store' },
      progress: { status: 200, cacheControl: 'no-store' },
      roster: { status: 200, cacheControl: 'no-store' },
      unenroll: { status: 204, cacheControl: 'no-store' },
    });
    // The course's outline is the same for every anonymous reader: caches may keep it.
    const outline = await api().get(`${courseApi}/outline`);
    expect(outline.status).toBe(200);
    expect(outline.headers['cache-control'] ?? '').not.toMatch(/no-store/);
  });

  it('a reset confirmation checks its token before it hashes anything', async () => {
    const hash = jest.spyOn(argon2, 'hash');
    try {
      const res = await api()
        .post('/api/v1/auth/password-reset/confirm')
        .send({ token: 'x'.repeat(43), newPassword: 'a perfectly long passphrase 2' });
      expect(res.status).toBe(400);
      expect(res.body.type).toBe(`${PROBLEM}invalid-token`);
      expect(hash).not.toHaveBeenCalled();
    } finally {
      hash.mockRestore();
    }
  });
});

describeEachDatabase(
  'hardening: the general limit announces itself',
  (current) => {
    const from = (address: string) => ({ 'X-Forwarded-For': address });

    it('RateLimit headers on every limited answer, none on health checks', async () => {
      // Three answers counted in one minute's window, not across two.
      await withinOneMinuteWindow(5_000);
      const address = freshAddress();
      const seen = [];
      for (let i = 0; i < 3; i++) {
        const res = await current().request().get('/api/v1/courses').set(from(address));
        expect(res.status).toBe(200);
        seen.push({
          limit: res.headers['ratelimit-limit'],
          remaining: res.headers['ratelimit-remaining'],
          resetPositive: Number(res.headers['ratelimit-reset']) > 0,
        });
      }
      expect(seen).toEqual([
        { limit: '50', remaining: '49', resetPositive: true },
        { limit: '50', remaining: '48', resetPositive: true },
        { limit: '50', remaining: '47', resetPositive: true },
      ]);

      const health = await current().request().get('/health/live').set(from(address));
      expect(health.status).toBe(200);
      expect(health.headers['ratelimit-limit']).toBeUndefined();
      expect(health.headers['ratelimit-remaining']).toBeUndefined();
    });

    it('sensitive routes show the limit closest to refusing', async () => {
      // General: 50 a minute; sensitive: 100 an hour. After one request the general one is closer.
      const reset = await current()
        .request()
        .post('/api/v1/auth/password-reset')
        .set(from(freshAddress()))
        .send({ email: uniqueEmail() });
      expect(reset.status).toBe(202);
      expect({
        limit: reset.headers['ratelimit-limit'],
        remaining: reset.headers['ratelimit-remaining'],
      }).toEqual({ limit: '50', remaining: '49' });

      // A failed login: 4 of its 5 attempts left, closer than the general 49 of 50.
      const login = await current()
        .request()
        .post('/api/v1/auth/login')
        .set(from(freshAddress()))
        .send({ email: uniqueEmail(), password: 'wrong password' });
      expect(login.status).toBe(401);
      expect({
        limit: login.headers['ratelimit-limit'],
        remaining: login.headers['ratelimit-remaining'],
      }).toEqual({ limit: '5', remaining: '4' });
    });
  },
  { RATE_LIMIT_PER_MINUTE: '50', RATE_LIMIT_SENSITIVE_PER_HOUR: '100', TRUST_PROXY: '1' },
);

describeEachDatabase(
  'hardening: IPv6 clients are limited per /64',
  (current) => {
    const get = (address: string) =>
      current().request().get('/api/v1/courses').set('X-Forwarded-For', address);

    it('addresses of one /64 share a count; another /64 and other IPv4 addresses do not', async () => {
      const statuses = async (addresses: string[]) => {
        const out: number[] = [];
        for (const address of addresses) out.push((await get(address)).status);
        return out;
      };
      await withinOneMinuteWindow(10_000);
      expect(
        await statuses([
          '2001:db8:1:2::1',
          '2001:db8:1:2::2',
          '2001:db8:1:2::3',
          '2001:db8:1:2::ffff',
          '2001:db8:1:3::1',
        ]),
      ).toEqual([200, 200, 200, 429, 200]);
      expect(
        await statuses(['192.0.2.1', '192.0.2.1', '192.0.2.1', '192.0.2.2', '192.0.2.1']),
      ).toEqual([200, 200, 200, 200, 429]);
    });
  },
  { RATE_LIMIT_PER_MINUTE: '3', TRUST_PROXY: '1' },
);

describeEachDatabase(
  'hardening: SESSION_MAX_AGE',
  (current) => {
    it('a login session ends SESSION_MAX_AGE after its login, refreshed or not', async () => {
      const user = await createUser(current());
      const login = () =>
        current()
          .request()
          .post('/api/v1/auth/login')
          .send({ email: user.email, password: user.password });
      const first = await login();
      expect(first.status).toBe(200);

      await sleep(2_500);
      const refresh = await current()
        .request()
        .post('/api/v1/auth/refresh')
        .send({ refreshToken: first.body.refreshToken });
      const me = await current()
        .request()
        .get('/api/v1/users/me')
        .set(auth(first.body.accessToken));
      expect({ refresh: refresh.status, me: me.status }).toEqual({ refresh: 401, me: 401 });

      expect((await login()).status).toBe(200);
    });
  },
  { SESSION_MAX_AGE: '2' },
);

const mailEnv: Record<string, string> = { TRUST_PROXY: '1', RATE_LIMIT_SENSITIVE_PER_HOUR: '0' };
const smtp = catchMailFor(mailEnv);

describeEachDatabase(
  'hardening: emails to one recipient',
  (current) => {
    it('at most 5 emails an hour to one recipient, whatever address asks', async () => {
      const email = uniqueEmail('flood');
      const registered = await current()
        .request()
        .post('/api/v1/auth/register')
        .set('X-Forwarded-For', '198.51.100.1')
        .send({ email, password: PASSWORD, name: 'Flooded' });
      expect(registered.status).toBe(201);
      await smtp().waitFor(email);

      const statuses: number[] = [];
      for (let i = 0; i < 7; i++) {
        const res = await current()
          .request()
          .post('/api/v1/auth/password-reset')
          .set('X-Forwarded-For', `198.51.100.${10 + i}`)
          .send({ email });
        statuses.push(res.status);
      }
      expect(statuses).toEqual(Array(7).fill(202));

      await current().services.mailer.idle();
      const received = smtp().mails.filter((mail) => mail.to.includes(email)).length;
      expect(received).toBeLessThanOrEqual(5);
    });
  },
  mailEnv,
);

describePg('hardening: when the limit store cannot be reached [postgresql + redis]', () => {
  let proxy: TcpProxy;
  let t: Awaited<ReturnType<typeof buildTestApp>> | undefined;

  beforeAll(async () => {
    proxy = await startTcpProxy({ host: '127.0.0.1', port: 6379 });
    t = await buildTestApp('postgresql', {
      REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
      RATE_LIMIT_PER_MINUTE: '100',
      RATE_LIMIT_SENSITIVE_PER_HOUR: '10',
      TRUST_PROXY: '1',
    });
  });
  afterAll(async () => {
    // Let the client find Redis again, so that closing the app can say goodbye to it.
    await proxy.restore();
    await t?.services.limits.ready();
    await t?.close();
    await proxy.stop();
  });

  it('the general limit lets requests through; login, password and email operations answer 503', async () => {
    const app = t!;
    const address = freshAddress();
    const api = () => app.request();
    const user = await createUser(app);
    const before = await api()
      .post('/api/v1/auth/login')
      .set('X-Forwarded-For', address)
      .send({ email: user.email, password: user.password });
    expect(before.status).toBe(200);

    await proxy.cut();
    await sleep(200);

    const courses = await api().get('/api/v1/courses').set('X-Forwarded-For', address);
    const login = await api()
      .post('/api/v1/auth/login')
      .set('X-Forwarded-For', address)
      .send({ email: user.email, password: user.password });
    const reset = await api()
      .post('/api/v1/auth/password-reset')
      .set('X-Forwarded-For', address)
      .send({ email: user.email });
    const change = await api()
      .post('/api/v1/users/me/password')
      .set('X-Forwarded-For', address)
      .set(bearer(user))
      .send({ currentPassword: user.password, newPassword: 'a brand new passphrase 2' });
    expect({
      courses: courses.status,
      login: login.status,
      reset: reset.status,
      change: change.status,
    }).toEqual({ courses: 200, login: 503, reset: 503, change: 503 });
    for (const refused of [login, reset, change]) {
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(refused.body.type).toBe(`${PROBLEM}service-unavailable`);
    }
  });
});
