import { eq } from 'drizzle-orm';
import { createWebhookEndpointStore } from '../../src/data/webhook-endpoints';
import { createSecretBox, secretBoxKey } from '../../src/services/secret-box';
import { describeEachDatabase, type TestApp } from '../helpers/app';
import { bearer, createUser, type TestUser } from '../helpers/users';

const WEBHOOKS = '/api/v1/webhooks';
const PROBLEM = 'https://opencourse.dev/problems/';
const SECRET = /^whsec_[A-Za-z0-9+/]{43}=$/;
const DAY_MS = 24 * 60 * 60 * 1000;

/** A public address, written as a literal so that no test depends on DNS. */
const PUBLIC_URL = 'https://93.184.215.14/opencourse';

const endpoint = {
  url: PUBLIC_URL,
  description: 'Our CRM',
  events: ['enrollment.created', 'course.completed'],
};

/** The store over the app's database, with the app's own key: what the delivery worker sees. */
const storeOf = (t: TestApp) =>
  createWebhookEndpointStore(t.database, createSecretBox(secretBoxKey(t.config)));

describeEachDatabase('webhook endpoints', (t) => {
  let admin: TestUser;
  let instructor: TestUser;
  let student: TestUser;

  beforeAll(async () => {
    admin = await createUser(t(), { role: 'admin' });
    instructor = await createUser(t(), { role: 'instructor' });
    student = await createUser(t(), { role: 'student' });
  });

  const create = async (body: Record<string, unknown> = {}) => {
    const res = await t()
      .request()
      .post(WEBHOOKS)
      .set(bearer(admin))
      .send({ ...endpoint, ...body });
    expect(res.status).toBe(201);
    return res;
  };
  const refusedCreate = async (body: Record<string, unknown>) => {
    const res = await t()
      .request()
      .post(WEBHOOKS)
      .set(bearer(admin))
      .send({ ...endpoint, ...body });
    expect(res.status).toBe(400);
    expect(res.body.type).toBe(`${PROBLEM}validation-error`);
    return res;
  };
  const listAll = async (limit = 100) => {
    const ids: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const res = await t()
        .request()
        .get(WEBHOOKS)
        .query(cursor ? { limit, cursor } : { limit })
        .set(bearer(admin));
      expect(res.status).toBe(200);
      ids.push(...res.body.items.map((item: { id: string }) => item.id));
      if (res.body.nextCursor === null) return { ids, last: res };
      cursor = res.body.nextCursor;
    }
  };

  describe('who may call', () => {
    const someId = '0f1e2d3c-4b5a-4697-8877-665544332211';
    // Each row has all three values: Jest would take a missing one for a `done` callback.
    const calls: [string, string, Record<string, unknown> | null][] = [
      ['get', WEBHOOKS, null],
      ['post', WEBHOOKS, endpoint],
      ['get', `${WEBHOOKS}/${someId}`, null],
      ['patch', `${WEBHOOKS}/${someId}`, { enabled: false }],
      ['delete', `${WEBHOOKS}/${someId}`, null],
      ['post', `${WEBHOOKS}/${someId}/rotate-secret`, null],
      ['get', `${WEBHOOKS}/${someId}/deliveries`, null],
      ['post', `${WEBHOOKS}/${someId}/deliveries/${someId}/redeliver`, null],
    ];

    it.each(calls)(
      '%s %s: 401 without a token, 403 for students and instructors',
      async (method, path, body) => {
        const send = (as?: TestUser) => {
          const req = t().request()[method as 'get'](path);
          if (as) req.set(bearer(as));
          return body ? req.send(body) : req;
        };
        const anonymous = await send();
        expect(anonymous.status).toBe(401);
        expect(anonymous.headers['www-authenticate']).toBe('Bearer');
        for (const user of [student, instructor]) {
          const res = await send(user);
          expect(res.status).toBe(403);
          expect(res.body.type).toBe(`${PROBLEM}forbidden`);
        }
      },
    );

    it('lets admins in', async () => {
      const created = await create();
      const id = created.body.id as string;
      const answers = await Promise.all([
        t().request().get(WEBHOOKS).set(bearer(admin)),
        t().request().get(`${WEBHOOKS}/${id}`).set(bearer(admin)),
        t().request().patch(`${WEBHOOKS}/${id}`).set(bearer(admin)).send({ enabled: true }),
      ]);
      expect(answers.map((res) => res.status)).toEqual([200, 200, 200]);
      const rotated = await t()
        .request()
        .post(`${WEBHOOKS}/${id}/rotate-secret`)
        .set(bearer(admin));
      expect(rotated.status).toBe(200);
      const deleted = await t().request().delete(`${WEBHOOKS}/${id}`).set(bearer(admin));
      expect(deleted.status).toBe(204);
    });
  });

  describe('createWebhookEndpoint', () => {
    it('answers 201 with the endpoint and its secret, shown this once and never again', async () => {
      const res = await create();
      expect(res.body).toEqual({
        id: expect.any(String),
        url: PUBLIC_URL,
        description: 'Our CRM',
        events: ['enrollment.created', 'course.completed'],
        enabled: true,
        createdAt: expect.any(String),
        updatedAt: res.body.createdAt,
        secret: expect.stringMatching(SECRET),
        previousSecretExpiresAt: null,
      });
      expect(Buffer.from(res.body.secret.slice(6), 'base64')).toHaveLength(32);
      expect(res.headers.location).toBe(`${WEBHOOKS}/${res.body.id}`);
      expect(res.headers['cache-control']).toBe('no-store');

      const read = await t().request().get(`${WEBHOOKS}/${res.body.id}`).set(bearer(admin));
      expect(read.status).toBe(200);
      expect(read.headers['cache-control']).toBe('no-store');
      const { secret, previousSecretExpiresAt, ...withoutSecret } = res.body;
      expect(read.body).toEqual(withoutSecret);
      expect(read.text).not.toContain(secret);
      expect(previousSecretExpiresAt).toBeNull();

      const { last } = await listAll();
      expect(last.text).not.toContain('whsec_');
      const all = await listAll();
      expect(all.ids).toContain(res.body.id);
    });

    it('gives every endpoint a secret of its own', async () => {
      const [a, b] = [await create(), await create()];
      expect(a.body.secret).not.toBe(b.body.secret);
    });

    it('defaults the description to null, and takes ["*"]', async () => {
      const res = await create({ description: undefined, events: ['*'] });
      expect(res.body).toMatchObject({ description: null, events: ['*'] });
    });

    it('stores the secret encrypted: no whsec_ in the row, yet the worker can open it', async () => {
      const res = await create();
      const table = t().database.t.webhookEndpoints;
      const [row] = await t().database.db.select().from(table).where(eq(table.id, res.body.id));
      expect(row).toBeDefined();
      expect(JSON.stringify(row)).not.toContain('whsec_');
      expect(JSON.stringify(row)).not.toContain(res.body.secret.slice(6));
      expect(row!.previousSecret).toBeNull();
      await expect(storeOf(t()).signingSecretsOf(res.body.id, new Date())).resolves.toEqual([
        res.body.secret,
      ]);
    });

    it('refuses invalid bodies with a 400 naming the field', async () => {
      const cases: [Record<string, unknown>, string][] = [
        [{ url: 'not a url' }, 'body.url'],
        [{ url: '' }, 'body.url'],
        [{ url: `https://example.com/${'a'.repeat(2000)}` }, 'body.url'],
        [{ events: [] }, 'body.events'],
        [{ events: ['course.exploded'] }, 'body.events.0'],
        [{ events: ['course.created', 'course.created'] }, 'body.events'],
        [{ description: 'x'.repeat(501) }, 'body.description'],
        [{ enabled: false }, 'body.enabled'],
        [{ secret: 'whsec_mine' }, 'body.secret'],
      ];
      for (const [body, path] of cases) {
        const res = await refusedCreate(body);
        expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
      }
      for (const body of [{ url: undefined }, { events: undefined }]) await refusedCreate(body);
    });

    it('takes "*" alone only', async () => {
      const res = await refusedCreate({ events: ['*', 'course.created'] });
      expect(res.body.errors).toEqual([{ path: 'body.events', message: expect.any(String) }]);
    });

    it('refuses http and non-public targets while private targets are not allowed', async () => {
      const cases: [string, RegExp][] = [
        ['http://93.184.215.14/opencourse', /https/],
        ['https://localhost/hook', /non-public address \(loopback\)/],
        ['https://127.0.0.1/hook', /non-public address \(loopback\)/],
        ['https://10.0.0.8/hook', /non-public address \(private\)/],
        ['https://192.168.1.20:8443/hook', /non-public address \(private\)/],
        ['https://[::1]/hook', /non-public address \(loopback\)/],
        ['https://[::ffff:127.0.0.1]/hook', /non-public address \(loopback\)/],
        ['https://169.254.169.254/latest/meta-data/', /non-public address \(linkLocal\)/],
        ['https://100.64.1.1/hook', /non-public address \(carrierGradeNat\)/],
        ['https://[fd00::1]/hook', /non-public address \(uniqueLocal\)/],
        ['https://0.0.0.0/hook', /non-public address \(unspecified\)/],
        ['https://2130706433/hook', /non-public address \(loopback\)/],
        ['https://user:password@93.184.215.14/hook', /user name or password/],
        ['ftp://93.184.215.14/hook', /https/],
      ];
      for (const [url, reason] of cases) {
        const res = await refusedCreate({ url });
        expect(res.body.errors).toEqual([
          { path: 'body.url', message: expect.stringMatching(reason) },
        ]);
      }
    });
  });

  describe('listWebhookEndpoints', () => {
    it('pages newest first, with no endpoint skipped or repeated', async () => {
      const created: string[] = [];
      for (let i = 0; i < 5; i++)
        created.push((await create({ description: `page ${i}` })).body.id);
      const whole = await listAll(100);
      const paged = await listAll(2);
      expect(paged.ids).toEqual(whole.ids);
      expect(new Set(paged.ids).size).toBe(paged.ids.length);
      // The five just made, newest first, ahead of everything older.
      expect(whole.ids.slice(0, 5)).toEqual([...created].reverse());

      const first = await t().request().get(WEBHOOKS).query({ limit: 2 }).set(bearer(admin));
      expect(first.body.items).toHaveLength(2);
      expect(first.headers.link).toMatch(
        /^<\/api\/v1\/webhooks\?limit=2&cursor=[^>]+>; rel="next"$/,
      );
      for (const item of first.body.items) expect(item).not.toHaveProperty('secret');
    });

    it('refuses a cursor it did not issue', async () => {
      const res = await t()
        .request()
        .get(WEBHOOKS)
        .query({ cursor: 'bm90LWEtY3Vyc29y.AAAAAAAAAAAAAAAAAAAAAA' })
        .set(bearer(admin));
      expect(res.status).toBe(400);
      expect(res.body.errors[0].path).toBe('query.cursor');
    });
  });

  describe('updateWebhookEndpoint', () => {
    it('changes what it is given and keeps the rest', async () => {
      const created = await create();
      const id = created.body.id as string;
      await new Promise((resolve) => setTimeout(resolve, 5));
      const res = await t()
        .request()
        .patch(`${WEBHOOKS}/${id}`)
        .set(bearer(admin))
        .send({ events: ['*'], description: null });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        id,
        url: PUBLIC_URL,
        description: null,
        events: ['*'],
        enabled: true,
        createdAt: created.body.createdAt,
        updatedAt: expect.any(String),
      });
      expect(res.body.updatedAt > created.body.updatedAt).toBe(true);

      const moved = await t()
        .request()
        .patch(`${WEBHOOKS}/${id}`)
        .set(bearer(admin))
        .send({ url: 'https://[2606:4700:4700::1111]/hooks', description: 'Moved' });
      expect(moved.body).toMatchObject({
        url: 'https://[2606:4700:4700::1111]/hooks',
        description: 'Moved',
      });
      const read = await t().request().get(`${WEBHOOKS}/${id}`).set(bearer(admin));
      expect(read.body).toEqual(moved.body);
    });

    it('disables and enables an endpoint, which leaves and rejoins the subscribers', async () => {
      const id = (await create({ events: ['course.deleted'] })).body.id as string;
      const subscribers = async () =>
        (await storeOf(t()).subscribedTo(t().database.db, 'course.deleted')).map((e) => e.id);
      expect(await subscribers()).toContain(id);

      const disabled = await t()
        .request()
        .patch(`${WEBHOOKS}/${id}`)
        .set(bearer(admin))
        .send({ enabled: false });
      expect(disabled.status).toBe(200);
      expect(disabled.body.enabled).toBe(false);
      expect(await subscribers()).not.toContain(id);
      // Still listed and readable while disabled.
      expect((await listAll()).ids).toContain(id);

      await t().request().patch(`${WEBHOOKS}/${id}`).set(bearer(admin)).send({ enabled: true });
      expect(await subscribers()).toContain(id);
    });

    it('refuses an empty change, unknown fields, a bad selection and a private URL', async () => {
      const created = await create();
      const id = created.body.id as string;
      const patch = (body: Record<string, unknown>) =>
        t().request().patch(`${WEBHOOKS}/${id}`).set(bearer(admin)).send(body);
      for (const body of [
        {},
        { secret: 'whsec_x' },
        { id: crypto.randomUUID() },
        { createdAt: '2020-01-01T00:00:00Z' },
        { events: [] },
        { events: ['*', 'user.registered'] },
        { enabled: 'false' },
        { url: 'https://127.0.0.1/x' },
        { url: 'http://93.184.215.14/x' },
      ]) {
        const res = await patch(body);
        expect(res.status).toBe(400);
      }
      const read = await t().request().get(`${WEBHOOKS}/${id}`).set(bearer(admin));
      const { secret: _secret, previousSecretExpiresAt: _expires, ...unchanged } = created.body;
      expect(read.body).toEqual(unchanged);
    });

    it('is 404 for an unknown endpoint', async () => {
      const res = await t()
        .request()
        .patch(`${WEBHOOKS}/${crypto.randomUUID()}`)
        .set(bearer(admin))
        .send({ enabled: false });
      expect(res.status).toBe(404);
      expect(res.body.type).toBe(`${PROBLEM}not-found`);
    });
  });

  describe('deleteWebhookEndpoint', () => {
    it('makes the endpoint 404 everywhere, absent from the list, and sent nothing more', async () => {
      const id = (await create({ events: ['*'] })).body.id as string;
      const res = await t().request().delete(`${WEBHOOKS}/${id}`).set(bearer(admin));
      expect(res.status).toBe(204);
      expect(res.text).toBe('');

      const path = `${WEBHOOKS}/${id}`;
      const after = await Promise.all([
        t().request().get(path).set(bearer(admin)),
        t().request().patch(path).set(bearer(admin)).send({ enabled: true }),
        t().request().delete(path).set(bearer(admin)),
        t().request().post(`${path}/rotate-secret`).set(bearer(admin)),
      ]);
      expect(after.map((r) => r.status)).toEqual([404, 404, 404, 404]);
      expect((await listAll()).ids).not.toContain(id);

      const store = storeOf(t());
      const subscribers = await store.subscribedTo(t().database.db, 'user.registered');
      expect(subscribers.map((e) => e.id)).not.toContain(id);
      await expect(store.signingSecretsOf(id, new Date())).resolves.toBeUndefined();

      // A soft delete: the row stays.
      const table = t().database.t.webhookEndpoints;
      const [row] = await t().database.db.select().from(table).where(eq(table.id, id));
      expect(row?.deletedAt).toBeInstanceOf(Date);
    });
  });

  describe('rotateWebhookSecret', () => {
    it('answers a new secret, and keeps the previous one, encrypted, signing for 24 hours', async () => {
      const created = await create();
      const id = created.body.id as string;
      const oldSecret = created.body.secret as string;
      const table = t().database.t.webhookEndpoints;
      const rowOf = async () =>
        (await t().database.db.select().from(table).where(eq(table.id, id)))[0]!;
      const before = await rowOf();

      const started = Date.now();
      const res = await t().request().post(`${WEBHOOKS}/${id}/rotate-secret`).set(bearer(admin));
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body.secret).toMatch(SECRET);
      expect(res.body.secret).not.toBe(oldSecret);
      const expires = Date.parse(res.body.previousSecretExpiresAt);
      expect(expires).toBeGreaterThanOrEqual(started + DAY_MS - 1000);
      expect(expires).toBeLessThanOrEqual(Date.now() + DAY_MS + 1000);
      expect(res.body.updatedAt > created.body.updatedAt).toBe(true);

      const row = await rowOf();
      expect(row.previousSecret).toBe(before.secret);
      expect(row.secret).not.toBe(before.secret);
      expect(JSON.stringify(row)).not.toContain('whsec_');
      const box = createSecretBox(secretBoxKey(t().config));
      expect(box.open(row.previousSecret!)).toBe(oldSecret);
      expect(box.open(row.secret)).toBe(res.body.secret);

      const store = storeOf(t());
      await expect(store.signingSecretsOf(id, new Date())).resolves.toEqual([
        res.body.secret,
        oldSecret,
      ]);
      await expect(store.signingSecretsOf(id, new Date(expires + 1))).resolves.toEqual([
        res.body.secret,
      ]);

      // Never shown again.
      const read = await t().request().get(`${WEBHOOKS}/${id}`).set(bearer(admin));
      expect(read.text).not.toContain('whsec_');
    });

    it('rotating again keeps only the secret just replaced beside the newest', async () => {
      const created = await create();
      const id = created.body.id as string;
      const first = await t().request().post(`${WEBHOOKS}/${id}/rotate-secret`).set(bearer(admin));
      const second = await t().request().post(`${WEBHOOKS}/${id}/rotate-secret`).set(bearer(admin));
      const secrets = await storeOf(t()).signingSecretsOf(id, new Date());
      expect(secrets).toEqual([second.body.secret, first.body.secret]);
      expect(secrets).not.toContain(created.body.secret);
    });

    it('is 404 for an unknown endpoint', async () => {
      const res = await t()
        .request()
        .post(`${WEBHOOKS}/${crypto.randomUUID()}/rotate-secret`)
        .set(bearer(admin));
      expect(res.status).toBe(404);
    });
  });

  describe('subscribedTo', () => {
    it('gives the live, enabled endpoints subscribed to the type or to "*"', async () => {
      const named = (await create({ events: ['lesson.completed'] })).body.id as string;
      const star = (await create({ events: ['*'] })).body.id as string;
      const other = (await create({ events: ['course.created'] })).body.id as string;
      const store = storeOf(t());
      const ids = async (type: string) =>
        (await store.subscribedTo(t().database.db, type)).map((e) => e.id);

      const lesson = await ids('lesson.completed');
      expect(lesson).toEqual(expect.arrayContaining([named, star]));
      expect(lesson).not.toContain(other);
      const user = await ids('user.registered');
      expect(user).toContain(star);
      expect(user).not.toContain(named);

      // Inside a transaction too, as the outbox asks.
      const inTx = await t().database.transaction((tx) => store.subscribedTo(tx, 'course.created'));
      expect(inTx.map((e) => e.id)).toEqual(expect.arrayContaining([other, star]));
    });
  });
});

describeEachDatabase(
  'webhook endpoints with WEBHOOK_ALLOW_PRIVATE_TARGETS=true',
  (t) => {
    let admin: TestUser;
    beforeAll(async () => {
      admin = await createUser(t(), { role: 'admin' });
    });

    it('takes http and private targets, for tests and private networks', async () => {
      for (const url of [
        'http://localhost:8080/hook',
        'http://127.0.0.1:9000/hook',
        'https://10.0.0.8/hook',
        'http://receiver.internal/hook',
      ]) {
        const res = await t()
          .request()
          .post(WEBHOOKS)
          .set(bearer(admin))
          .send({ url, events: ['*'] });
        expect(res.status).toBe(201);
        expect(res.body.url).toBe(url);
      }
    });

    it('still takes http and https only', async () => {
      const res = await t()
        .request()
        .post(WEBHOOKS)
        .set(bearer(admin))
        .send({ url: 'ftp://localhost/hook', events: ['*'] });
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual([
        { path: 'body.url', message: 'must be an http or https URL' },
      ]);
    });
  },
  { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' },
);
