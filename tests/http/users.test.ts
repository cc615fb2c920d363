import { describeEachDatabase, type TestApp } from '../helpers/app';
import { PASSWORD, auth, login, tokensFor, uniqueEmail } from '../helpers/auth-flows';
import { bearer, createUser, type TestUser } from '../helpers/users';

const PROBLEM = 'https://opencourse.dev/problems/';

const USER_KEYS = [
  'bio',
  'createdAt',
  'email',
  'emailVerified',
  'id',
  'locale',
  'name',
  'role',
  'status',
  'updatedAt',
];

/** An account made through the API, so that it can log in with PASSWORD. */
async function registered(t: TestApp, name = 'Reg'): Promise<{ id: string; email: string }> {
  const email = uniqueEmail(name.toLowerCase());
  const res = await t
    .request()
    .post('/api/v1/auth/register')
    .send({ email, password: PASSWORD, name });
  return res.body;
}

describeEachDatabase('users', (current) => {
  const api = () => current().request();
  let admin: TestUser;
  beforeAll(async () => {
    admin = await createUser(current(), { role: 'admin' });
  });

  describe('getCurrentUser', () => {
    it('returns the caller with the enrollments summary, and no hash', async () => {
      const user = await createUser(current());
      const res = await api().get('/api/v1/users/me').set(bearer(user));
      expect(res.status).toBe(200);
      expect(Object.keys(res.body).sort()).toEqual([...USER_KEYS, 'enrollments'].sort());
      expect(res.body).toMatchObject({ id: user.id, email: user.email, role: 'student' });
      expect(res.body.enrollments).toEqual({ total: 0, items: [] });
      expect(res.text).not.toMatch(/argon2|password/i);
    });
  });

  describe('updateCurrentUser', () => {
    it('changes name and bio, clears bio with null, and persists', async () => {
      const user = await createUser(current());
      const res = await api()
        .patch('/api/v1/users/me')
        .set(bearer(user))
        .send({ name: 'New Name', bio: 'Hi' });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ name: 'New Name', bio: 'Hi' });
      expect(Object.keys(res.body).sort()).toEqual(USER_KEYS);
      const cleared = await api().patch('/api/v1/users/me').set(bearer(user)).send({ bio: null });
      expect(cleared.body).toMatchObject({ name: 'New Name', bio: null });
      const read = await api().get(`/api/v1/users/${user.id}`).set(bearer(user));
      expect(read.body).toMatchObject({ name: 'New Name', bio: null });
    });

    it.each([
      { role: 'admin' },
      { email: 'x@example.com' },
      { status: 'suspended' },
      { emailVerified: true },
    ])('400 for %j', async (body) => {
      const user = await createUser(current());
      const res = await api().patch('/api/v1/users/me').set(bearer(user)).send(body);
      expect(res.status).toBe(400);
      const me = await api().get('/api/v1/users/me').set(bearer(user));
      expect(me.body.role).toBe('student');
      expect(me.body.status).toBe('active');
    });
  });

  describe('changePassword', () => {
    it('400 wrong-password for a wrong current password', async () => {
      const user = await createUser(current());
      const res = await api()
        .post('/api/v1/users/me/password')
        .set(bearer(user))
        .send({ currentPassword: 'not my password', newPassword: 'a brand new passphrase' });
      expect(res.status).toBe(400);
      expect(res.body.type).toBe(`${PROBLEM}wrong-password`);
    });

    it('sets the new password, keeps this session, revokes the others', async () => {
      const { email } = await registered(current());
      const here = await tokensFor(current(), email);
      const elsewhere = await tokensFor(current(), email);
      const newPassword = 'a brand new passphrase';
      const res = await api()
        .post('/api/v1/users/me/password')
        .set(auth(here.accessToken))
        .send({ currentPassword: PASSWORD, newPassword });
      expect(res.status).toBe(204);
      expect((await api().get('/api/v1/users/me').set(auth(here.accessToken))).status).toBe(200);
      expect((await api().get('/api/v1/users/me').set(auth(elsewhere.accessToken))).status).toBe(
        401,
      );
      expect(
        (await api().post('/api/v1/auth/refresh').send({ refreshToken: elsewhere.refreshToken }))
          .status,
      ).toBe(401);
      expect(
        (await api().post('/api/v1/auth/refresh').send({ refreshToken: here.refreshToken })).status,
      ).toBe(200);
      expect((await login(current(), email)).status).toBe(401);
      expect((await login(current(), email, newPassword)).status).toBe(200);
    });
  });

  describe('deleteCurrentUser', () => {
    it('deletes: tokens stop, login fails, 404 for admins, the email is free again', async () => {
      const { id, email } = await registered(current());
      const pair = await tokensFor(current(), email);
      const res = await api().delete('/api/v1/users/me').set(auth(pair.accessToken));
      expect(res.status).toBe(204);
      expect((await api().get('/api/v1/users/me').set(auth(pair.accessToken))).status).toBe(401);
      expect(
        (await api().post('/api/v1/auth/refresh').send({ refreshToken: pair.refreshToken })).status,
      ).toBe(401);
      expect((await login(current(), email)).status).toBe(401);
      expect((await api().get(`/api/v1/users/${id}`).set(bearer(admin))).status).toBe(404);
      const list = await api().get('/api/v1/users').query({ q: email }).set(bearer(admin));
      expect(list.body.items).toEqual([]);
      const again = await api()
        .post('/api/v1/auth/register')
        .send({ email, password: PASSWORD, name: 'Again' });
      expect(again.status).toBe(201);
      expect(again.body.id).not.toBe(id);
    });
  });

  describe('listUsers', () => {
    it('403 for a non-admin, 401 without a token', async () => {
      const user = await createUser(current());
      expect((await api().get('/api/v1/users').set(bearer(user))).status).toBe(403);
      expect((await api().get('/api/v1/users')).status).toBe(401);
    });

    it('pages newest first with cursors and Link, no repeats, no gaps, even with inserts between', async () => {
      const tag = `pager${Date.now()}`;
      const made: string[] = [];
      for (let i = 0; i < 5; i++)
        made.push((await createUser(current(), { name: `${tag} ${i}` })).id);
      const seen: string[] = [];
      let res = await api().get('/api/v1/users').query({ q: tag, limit: 2 }).set(bearer(admin));
      expect(res.status).toBe(200);
      await createUser(current(), { name: `${tag} late` }); // newer: must not shift the pages
      for (;;) {
        seen.push(...res.body.items.map((u: { id: string }) => u.id));
        for (const item of res.body.items) expect(Object.keys(item).sort()).toEqual(USER_KEYS);
        if (res.body.nextCursor === null) {
          expect(res.headers.link).toBeUndefined();
          break;
        }
        expect(res.headers.link).toMatch(/^<\/api\/v1\/users\?.*cursor=.*>; rel="next"$/);
        const next = /^<([^>]+)>/.exec(res.headers.link ?? '')![1]!;
        res = await api().get(next).set(bearer(admin));
        expect(res.status).toBe(200);
      }
      expect(seen).toEqual([...made].reverse());
    });

    it('filters by role, status and q (email or name, any case, % taken literally)', async () => {
      const instructor = await createUser(current(), {
        role: 'instructor',
        name: 'Grace ZEBRA Hopper',
      });
      const byRole = await api()
        .get('/api/v1/users')
        .query({ role: 'instructor', limit: 100 })
        .set(bearer(admin));
      expect(byRole.body.items.every((u: { role: string }) => u.role === 'instructor')).toBe(true);
      expect(byRole.body.items.map((u: { id: string }) => u.id)).toContain(instructor.id);

      const byName = await api().get('/api/v1/users').query({ q: 'zebra' }).set(bearer(admin));
      expect(byName.body.items.map((u: { id: string }) => u.id)).toEqual([instructor.id]);
      const byEmail = await api()
        .get('/api/v1/users')
        .query({ q: instructor.email.toUpperCase() })
        .set(bearer(admin));
      expect(byEmail.body.items.map((u: { id: string }) => u.id)).toEqual([instructor.id]);
      const literal = await api().get('/api/v1/users').query({ q: '%' }).set(bearer(admin));
      expect(literal.body.items).toEqual([]);

      await api()
        .patch(`/api/v1/users/${instructor.id}`)
        .set(bearer(admin))
        .send({ status: 'suspended' });
      const suspended = await api()
        .get('/api/v1/users')
        .query({ status: 'suspended', limit: 100 })
        .set(bearer(admin));
      expect(suspended.body.items.map((u: { id: string }) => u.id)).toContain(instructor.id);
      expect(suspended.body.items.every((u: { status: string }) => u.status === 'suspended')).toBe(
        true,
      );
    });

    it('400 for a cursor that does not parse, a bad role or a limit out of range', async () => {
      for (const query of [
        { cursor: 'nonsense' },
        { role: 'root' },
        { limit: 101 },
        { limit: 0 },
      ]) {
        const res = await api().get('/api/v1/users').query(query).set(bearer(admin));
        expect(res.status).toBe(400);
        expect(res.body.type).toBe(`${PROBLEM}validation-error`);
      }
    });
  });

  describe('getUser', () => {
    it('an admin and the user themself see it; anyone else gets 404 as for no such id', async () => {
      const user = await createUser(current());
      const other = await createUser(current());
      const byAdmin = await api().get(`/api/v1/users/${user.id}`).set(bearer(admin));
      expect(byAdmin.status).toBe(200);
      expect(Object.keys(byAdmin.body).sort()).toEqual(USER_KEYS);
      expect((await api().get(`/api/v1/users/${user.id}`).set(bearer(user))).status).toBe(200);
      const byOther = await api().get(`/api/v1/users/${user.id}`).set(bearer(other));
      const missing = await api()
        .get('/api/v1/users/3f6c1b1e-9a4d-4c1f-8e2a-1b2c3d4e5f60')
        .set(bearer(other));
      expect(byOther.status).toBe(404);
      expect(missing.status).toBe(404);
      expect(byOther.body.type).toBe(missing.body.type);
      expect((await api().get('/api/v1/users/not-a-uuid').set(bearer(admin))).status).toBe(400);
    });
  });

  describe('updateUser', () => {
    it('an admin changes name and role; the role applies to tokens already issued', async () => {
      const user = await createUser(current());
      const res = await api()
        .patch(`/api/v1/users/${user.id}`)
        .set(bearer(admin))
        .send({ role: 'instructor', name: 'Promoted' });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: user.id, role: 'instructor', name: 'Promoted' });
      expect((await api().get('/api/v1/users/me').set(bearer(user))).body.role).toBe('instructor');
    });

    it('suspending revokes every session at once; login is refused', async () => {
      const { id, email } = await registered(current());
      const pair = await tokensFor(current(), email);
      const res = await api()
        .patch(`/api/v1/users/${id}`)
        .set(bearer(admin))
        .send({ status: 'suspended' });
      expect(res.status).toBe(200);
      expect(res.body.status).toBe('suspended');
      expect((await api().get('/api/v1/users/me').set(auth(pair.accessToken))).status).toBe(401);
      expect(
        (await api().post('/api/v1/auth/refresh').send({ refreshToken: pair.refreshToken })).status,
      ).toBe(401);
      expect((await login(current(), email)).body.type).toBe(`${PROBLEM}invalid-credentials`);
      await api().patch(`/api/v1/users/${id}`).set(bearer(admin)).send({ status: 'active' });
      expect((await login(current(), email)).status).toBe(200);
    });

    it('403 for a non-admin, 404 for no such user, 400 for an empty body or unknown fields', async () => {
      const user = await createUser(current());
      expect(
        (await api().patch(`/api/v1/users/${user.id}`).set(bearer(user)).send({ role: 'admin' }))
          .status,
      ).toBe(403);
      expect(
        (
          await api()
            .patch('/api/v1/users/3f6c1b1e-9a4d-4c1f-8e2a-1b2c3d4e5f60')
            .set(bearer(admin))
            .send({ name: 'X' })
        ).status,
      ).toBe(404);
      expect(
        (await api().patch(`/api/v1/users/${user.id}`).set(bearer(admin)).send({})).status,
      ).toBe(400);
      expect(
        (
          await api()
            .patch(`/api/v1/users/${user.id}`)
            .set(bearer(admin))
            .send({ email: 'x@example.com' })
        ).status,
      ).toBe(400);
    });
  });

  describe('deleteUser', () => {
    it('an admin deletes an account: 204, then 404; a student may not', async () => {
      const user = await createUser(current());
      expect((await api().delete(`/api/v1/users/${admin.id}`).set(bearer(user))).status).toBe(403);
      expect((await api().delete(`/api/v1/users/${user.id}`).set(bearer(admin))).status).toBe(204);
      expect((await api().get(`/api/v1/users/${user.id}`).set(bearer(admin))).status).toBe(404);
      expect((await api().get('/api/v1/users/me').set(bearer(user))).status).toBe(401);
      expect((await api().delete(`/api/v1/users/${user.id}`).set(bearer(admin))).status).toBe(404);
    });
  });
});

describeEachDatabase('the last active admin', (current) => {
  const api = () => current().request();

  it('cannot be demoted, suspended or deleted; with a second admin it can', async () => {
    const admin = await createUser(current(), { role: 'admin' });
    for (const body of [{ role: 'instructor' }, { status: 'suspended' }]) {
      const res = await api().patch(`/api/v1/users/${admin.id}`).set(bearer(admin)).send(body);
      expect(res.status).toBe(409);
      expect(res.body.type).toBe(`${PROBLEM}last-admin`);
    }
    for (const req of [
      api().delete(`/api/v1/users/${admin.id}`).set(bearer(admin)),
      api().delete('/api/v1/users/me').set(bearer(admin)),
    ]) {
      const res = await req;
      expect(res.status).toBe(409);
      expect(res.body.type).toBe(`${PROBLEM}last-admin`);
    }
    // A rename is fine.
    expect(
      (await api().patch(`/api/v1/users/${admin.id}`).set(bearer(admin)).send({ name: 'Root' }))
        .status,
    ).toBe(200);

    const second = await createUser(current(), { role: 'admin' });
    expect(
      (await api().patch(`/api/v1/users/${second.id}`).set(bearer(admin)).send({ role: 'student' }))
        .status,
    ).toBe(200);
    const promoted = await createUser(current(), { role: 'admin' });
    expect((await api().delete('/api/v1/users/me').set(bearer(admin))).status).toBe(204);
    const last = await api()
      .patch(`/api/v1/users/${promoted.id}`)
      .set(bearer(promoted))
      .send({ status: 'suspended' });
    expect(last.status).toBe(409);
  });

  it('two admins suspending each other at once: exactly one is suspended, every time', async () => {
    for (let round = 0; round < 5; round++) {
      const a = await createUser(current(), { role: 'admin' });
      const b = await createUser(current(), { role: 'admin' });
      // Leave a and b as the only active admins.
      const list = await api()
        .get('/api/v1/users')
        .query({ role: 'admin', status: 'active', limit: 100 })
        .set(bearer(a));
      for (const other of list.body.items.filter(
        (u: { id: string }) => u.id !== a.id && u.id !== b.id,
      )) {
        await api().patch(`/api/v1/users/${other.id}`).set(bearer(a)).send({ role: 'student' });
      }
      const results = await Promise.all([
        api().patch(`/api/v1/users/${b.id}`).set(bearer(a)).send({ status: 'suspended' }),
        api().patch(`/api/v1/users/${a.id}`).set(bearer(b)).send({ status: 'suspended' }),
      ]);
      // The loser is refused as the last admin, or, when the winner's suspension landed before
      // its token was checked, as a suspended caller: never a 500, never both suspended.
      const [won, lost] = results.map((r) => r.status).sort();
      expect(won).toBe(200);
      expect([401, 409]).toContain(lost);
      const witness = await createUser(current(), { role: 'admin' });
      const states = await Promise.all(
        [a, b].map(async (u) => {
          const res = await api().get(`/api/v1/users/${u.id}`).set(bearer(witness));
          return res.body.status as string;
        }),
      );
      expect(states.sort()).toEqual(['active', 'suspended']);
      await api()
        .patch(`/api/v1/users/${witness.id}`)
        .set(bearer(witness))
        .send({ role: 'student' });
    }
  });
});
