import type { TestApp } from '../helpers/app';
import { DIALECTS } from '../helpers/databases';
import { buildInstances } from '../helpers/instances';
import { auth, tokensFor } from '../helpers/auth-flows';
import { bearer, createUser } from '../helpers/users';

const describePg = DIALECTS.includes('postgresql') ? describe : describe.skip;

/** Polls `check` until it holds or `ms` pass: "within one second" on another instance. */
async function within(ms: number, check: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const me = (t: TestApp, token: string) => t.request().get('/api/v1/users/me').set(auth(token));

// Sessions are served from each instance's memory; changes travel by LISTEN/NOTIFY.
describePg('revocation across two instances on one PostgreSQL', () => {
  let ctx: Awaited<ReturnType<typeof buildInstances>>;
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    ctx = await buildInstances(2);
    [a, b] = ctx.instances as [TestApp, TestApp];
  });
  afterAll(() => ctx.close());

  it('a logout on one instance is refused there at once, and on the other within a second', async () => {
    const user = await createUser(a);
    // Both instances have the session in memory.
    expect((await me(a, user.token)).status).toBe(200);
    expect((await me(b, user.token)).status).toBe(200);
    expect((await a.request().post('/api/v1/auth/logout').set(bearer(user)).send({})).status).toBe(
      204,
    );
    expect((await me(a, user.token)).status).toBe(401);
    expect(await within(1000, async () => (await me(b, user.token)).status === 401)).toBe(true);
  });

  it('a suspension and a role change reach the other instance within a second', async () => {
    const admin = await createUser(a, { role: 'admin' });
    const student = await createUser(a);
    const other = await createUser(a);
    const course = {
      title: 'Role test',
      description: 'x',
      category: null,
      level: null,
      language: 'en',
      capacity: null,
    };
    expect(
      (await b.request().post('/api/v1/courses').set(bearer(student)).send(course)).status,
    ).toBe(403);
    expect((await me(b, other.token)).status).toBe(200);

    const promote = await a
      .request()
      .patch(`/api/v1/users/${student.id}`)
      .set(bearer(admin))
      .send({ role: 'instructor' });
    expect(promote.status).toBe(200);
    const suspend = await a
      .request()
      .patch(`/api/v1/users/${other.id}`)
      .set(bearer(admin))
      .send({ status: 'suspended' });
    expect(suspend.status).toBe(200);

    expect(
      await within(
        1000,
        async () =>
          (await b.request().post('/api/v1/courses').set(bearer(student)).send(course)).status ===
          201,
      ),
    ).toBe(true);
    expect(await within(1000, async () => (await me(b, other.token)).status === 401)).toBe(true);
  });

  it('a password change on one instance ends the other sessions on the other', async () => {
    const user = await createUser(a);
    const login = await b
      .request()
      .post('/api/v1/auth/login')
      .send({ email: user.email, password: user.password });
    expect(login.status).toBe(200);
    const other = login.body.accessToken as string;
    expect((await me(b, other)).status).toBe(200);
    const change = await a
      .request()
      .post('/api/v1/users/me/password')
      .set(bearer(user))
      .send({ currentPassword: user.password, newPassword: 'a brand new passphrase 3' });
    expect(change.status).toBe(204);
    expect(await within(1000, async () => (await me(b, other)).status === 401)).toBe(true);
    // The session that changed it goes on.
    expect((await me(b, user.token)).status).toBe(200);
  });

  const refresh = (t: TestApp, refreshToken: string) =>
    t.request().post('/api/v1/auth/refresh').send({ refreshToken });

  it('a refresh token spent on one instance is refused on the other, and ends its session on both', async () => {
    const user = await createUser(a);
    const first = await tokensFor(a, user.email, user.password);
    expect((await me(b, first.accessToken)).status).toBe(200);
    const rotated = await refresh(a, first.refreshToken);
    expect(rotated.status).toBe(200);
    const second = rotated.body as { accessToken: string; refreshToken: string };
    expect((await me(b, second.accessToken)).status).toBe(200);

    // The spent token replayed on the other instance: refused, and the whole session revoked.
    const reuse = await refresh(b, first.refreshToken);
    expect(reuse.status).toBe(401);
    expect((await me(b, second.accessToken)).status).toBe(401);
    expect(await within(1000, async () => (await me(a, second.accessToken)).status === 401)).toBe(
      true,
    );
    expect((await refresh(a, second.refreshToken)).status).toBe(401);
    // The user's other session is untouched.
    expect((await me(a, user.token)).status).toBe(200);
  });

  it('one refresh token sent to both instances at once rotates once, and the rest revoke its session', async () => {
    const user = await createUser(a);
    const pair = await tokensFor(b, user.email, user.password);
    const sent = await Promise.all(
      Array.from({ length: 10 }, (_, i) => refresh(i % 2 ? b : a, pair.refreshToken)),
    );
    // One copy rotates it; every other is a reuse, which revokes the session.
    expect(sent.map((r) => r.status).sort()).toEqual([200, ...Array<number>(9).fill(401)]);
    const winner = sent.find((r) => r.status === 200)!.body as { accessToken: string };
    for (const t of [a, b]) {
      for (const token of [winner.accessToken, pair.accessToken]) {
        expect(await within(1000, async () => (await me(t, token)).status === 401)).toBe(true);
      }
    }
  });
});
