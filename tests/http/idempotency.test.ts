import { randomUUID } from 'node:crypto';
import { count, eq, isNull, like } from 'drizzle-orm';
import supertest from 'supertest';
import { problems } from '../../src/errors';
import { createApp } from '../../src/http/app';
import { handlers } from '../../src/http/handlers';
import type { HandlerMap } from '../../src/http/operations';
import { describeEachDatabase, type TestApp } from '../helpers/app';
import { DIALECTS } from '../helpers/databases';
import { buildInstances } from '../helpers/instances';
import { bearer, createUser, type TestUser } from '../helpers/users';

// Idempotency-Key (api-v1.md, Partner integrations): a retried create never acts twice.

const PROBLEMS = 'https://opencourse.dev/problems/';
const REPLAYED = 'idempotent-replayed';

const newKey = () => randomUUID();
const uniqueTitle = () => `Idempotent ${randomUUID()}`;

type Agent = ReturnType<typeof supertest>;

const createCourse = (agent: Agent, user: TestUser, key: string, body: object) =>
  agent.post('/api/v1/courses').set(bearer(user)).set('Idempotency-Key', key).send(body);

const enroll = (agent: Agent, user: TestUser, courseId: string, key: string) =>
  agent
    .post(`/api/v1/courses/${courseId}/enroll`)
    .set(bearer(user))
    .set('Idempotency-Key', key)
    .send();

const register = (agent: Agent, key: string, body: object, address?: string) => {
  const req = agent.post('/api/v1/auth/register').set('Idempotency-Key', key);
  if (address) req.set('X-Forwarded-For', address);
  return req.send(body);
};

const registration = () => ({
  email: `idem-${randomUUID()}@example.com`,
  password: 'a perfectly long passphrase 1',
  name: 'Idem Potent',
});

async function coursesTitled(t: TestApp, title: string): Promise<number> {
  const { courses } = t.database.t;
  const [row] = await t.database.db
    .select({ n: count() })
    .from(courses)
    .where(eq(courses.title, title));
  return Number(row?.n ?? 0);
}

async function usersWithEmail(t: TestApp, email: string): Promise<number> {
  const { users } = t.database.t;
  const [row] = await t.database.db
    .select({ n: count() })
    .from(users)
    .where(eq(users.email, email));
  return Number(row?.n ?? 0);
}

/** The stored key whose kept answer's header fields mention `text` (a created resource's id). */
const keyHolding = (t: TestApp, text: string) =>
  like(t.database.t.idempotencyKeys.headers, `%${text}%`);

/** A handler map whose `createCourse` waits at a gate: a first request that is still running. */
function gatedCourses() {
  let open!: () => void;
  let entered!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const started = new Promise<void>((resolve) => (entered = resolve));
  const map: HandlerMap = {
    ...handlers,
    createCourse: async (ctx) => {
      entered();
      await gate;
      return handlers.createCourse(ctx);
    },
  };
  return { map, open, started };
}

/** A handler map whose `createCourse` fails once with `error`, then works. */
function failingOnce(error: unknown): HandlerMap {
  let failures = 1;
  return {
    ...handlers,
    createCourse: async (ctx) => {
      if (failures-- > 0) throw error;
      return handlers.createCourse(ctx);
    },
  };
}

/** The answer as the client sees it, minus what belongs to one exchange. */
const comparable = (res: supertest.Response) => ({
  status: res.status,
  text: res.text,
  contentType: res.headers['content-type'],
  location: res.headers.location,
  etag: res.headers.etag,
});

describeEachDatabase(
  'Idempotency-Key',
  (current) => {
    let instructor: TestUser;
    let student: TestUser;
    beforeAll(async () => {
      instructor = await createUser(current(), { role: 'instructor' });
      student = await createUser(current());
    });

    async function publishedCourse(options: { capacity?: number } = {}): Promise<string> {
      const res = await current()
        .request()
        .post('/api/v1/courses')
        .set(bearer(instructor))
        .send({ title: uniqueTitle(), status: 'published', ...options });
      expect(res.status).toBe(201);
      return res.body.id as string;
    }

    describe('createCourse', () => {
      it('runs the first request; a retry gets its answer byte for byte and creates nothing', async () => {
        const t = current();
        const key = newKey();
        const body = { title: uniqueTitle(), description: 'Once only', capacity: 30 };
        const first = await createCourse(t.request(), instructor, key, body);
        expect(first.status).toBe(201);
        expect(first.headers[REPLAYED]).toBeUndefined();
        expect(first.headers.location).toBe(`/api/v1/courses/${first.body.id}`);

        const retry = await createCourse(t.request(), instructor, key, body);
        expect(comparable(retry)).toEqual(comparable(first));
        expect(retry.headers[REPLAYED]).toBe('true');
        // The replay is an exchange of its own: its own request id, and the security headers.
        expect(retry.headers['x-request-id']).not.toBe(first.headers['x-request-id']);
        expect(retry.headers['x-content-type-options']).toBe('nosniff');
        expect(await coursesTitled(t, body.title)).toBe(1);

        const again = await createCourse(t.request(), instructor, key, body);
        expect(again.text).toBe(first.text);
        expect(await coursesTitled(t, body.title)).toBe(1);
      });

      it('answers 422 to the same key with another body, and does nothing', async () => {
        const t = current();
        const key = newKey();
        const first = await createCourse(t.request(), instructor, key, { title: uniqueTitle() });
        expect(first.status).toBe(201);
        const other = uniqueTitle();
        const reused = await createCourse(t.request(), instructor, key, { title: other });
        expect(reused.status).toBe(422);
        expect(reused.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(reused.body).toMatchObject({
          type: `${PROBLEMS}idempotency-key-reused`,
          title: 'The idempotency key was used for another request',
          status: 422,
        });
        expect(reused.headers[REPLAYED]).toBeUndefined();
        expect(await coursesTitled(t, other)).toBe(0);
      });

      it('compares bodies byte for byte: the same JSON written another way is another request', async () => {
        const t = current();
        const key = newKey();
        const title = uniqueTitle();
        const send = (raw: string) =>
          t
            .request()
            .post('/api/v1/courses')
            .set(bearer(instructor))
            .set('Idempotency-Key', key)
            .set('Content-Type', 'application/json')
            .send(raw);
        expect((await send(`{"title":"${title}","capacity":5}`)).status).toBe(201);
        expect((await send(`{"capacity":5,"title":"${title}"}`)).status).toBe(422);
        expect(await coursesTitled(t, title)).toBe(1);
      });

      it('answers 409 with Retry-After while the first request runs, then replays its answer', async () => {
        const t = current();
        const gated = gatedCourses();
        const app = supertest(createApp(t.services, gated.map));
        const key = newKey();
        const body = { title: uniqueTitle() };
        const first = createCourse(app, instructor, key, body).then((res) => res);
        await gated.started;

        const meanwhile = await createCourse(app, instructor, key, body);
        expect(meanwhile.status).toBe(409);
        expect(meanwhile.headers['retry-after']).toBe('1');
        expect(meanwhile.body).toMatchObject({
          type: `${PROBLEMS}idempotency-key-in-flight`,
          status: 409,
        });
        // Another body with the key is still a 422, running or not.
        const reused = await createCourse(app, instructor, key, { title: uniqueTitle() });
        expect(reused.status).toBe(422);

        gated.open();
        const done = await first;
        expect(done.status).toBe(201);
        const retry = await createCourse(app, instructor, key, body);
        expect(retry.headers[REPLAYED]).toBe('true');
        expect(retry.text).toBe(done.text);
        expect(await coursesTitled(t, body.title)).toBe(1);
      });

      it('lets a retry take over a claim whose lease ran out (its instance died)', async () => {
        const t = current();
        const gated = gatedCourses();
        const app = supertest(createApp(t.services, gated.map));
        const key = newKey();
        const body = { title: uniqueTitle() };
        const stuck = createCourse(app, instructor, key, body).then((res) => res);
        await gated.started;
        // The gated request stands for one whose instance died: its lease runs out.
        const { idempotencyKeys } = t.database.t;
        await t.database.transaction((tx) =>
          tx
            .update(idempotencyKeys)
            .set({ lockedUntil: new Date(Date.now() - 1_000) })
            .where(isNull(idempotencyKeys.status)),
        );
        const retry = await createCourse(t.request(), instructor, key, body);
        expect(retry.status).toBe(201);
        expect(retry.headers[REPLAYED]).toBeUndefined();
        // The dead claimant's late answer does not replace the one that was kept.
        gated.open();
        await stuck;
        const again = await createCourse(t.request(), instructor, key, body);
        expect(again.headers[REPLAYED]).toBe('true');
        expect(again.text).toBe(retry.text);
      });

      it('keeps 4xx answers: a handler-level 400 is replayed', async () => {
        const t = current();
        const admin = await createUser(t, { role: 'admin' });
        const key = newKey();
        // A student cannot own a course: a 400 on body.instructorId, decided by the service.
        const body = { title: uniqueTitle(), instructorId: student.id };
        const first = await createCourse(t.request(), admin, key, body);
        expect(first.status).toBe(400);
        expect(first.body.errors[0].path).toBe('body.instructorId');
        const retry = await createCourse(t.request(), admin, key, body);
        expect(retry.status).toBe(400);
        expect(retry.headers[REPLAYED]).toBe('true');
        expect(retry.text).toBe(first.text);
      });

      it('keeps nothing for a request the validator refuses before it runs', async () => {
        const t = current();
        const key = newKey();
        const title = uniqueTitle();
        const invalid = await createCourse(t.request(), instructor, key, { title, role: 'x' });
        expect(invalid.status).toBe(400);
        const valid = await createCourse(t.request(), instructor, key, { title });
        expect(valid.status).toBe(201);
        expect(valid.headers[REPLAYED]).toBeUndefined();
      });

      it('keeps no 5xx answer: the retry runs afresh', async () => {
        const t = current();
        const app = supertest(createApp(t.services, failingOnce(new Error('the disk is on fire'))));
        const key = newKey();
        const body = { title: uniqueTitle() };
        const failed = await createCourse(app, instructor, key, body);
        expect(failed.status).toBe(500);
        const retry = await createCourse(app, instructor, key, body);
        expect(retry.status).toBe(201);
        expect(retry.headers[REPLAYED]).toBeUndefined();
        const again = await createCourse(app, instructor, key, body);
        expect(again.headers[REPLAYED]).toBe('true');
        expect(again.text).toBe(retry.text);
        expect(await coursesTitled(t, body.title)).toBe(1);
      });

      it('keeps no 429 answer: the retry runs afresh', async () => {
        const t = current();
        const limited = problems.tooManyRequests(
          { limit: 1, remaining: 0, resetSeconds: 30 },
          'Too many requests from your address.',
        );
        const app = supertest(createApp(t.services, failingOnce(limited)));
        const key = newKey();
        const body = { title: uniqueTitle() };
        const refused = await createCourse(app, instructor, key, body);
        expect(refused.status).toBe(429);
        expect(refused.headers['retry-after']).toBe('30');
        const retry = await createCourse(app, instructor, key, body);
        expect(retry.status).toBe(201);
        expect(retry.headers[REPLAYED]).toBeUndefined();
        expect(await coursesTitled(t, body.title)).toBe(1);
      });

      it('scopes keys to the caller: another user with the same key runs its own request', async () => {
        const t = current();
        const other = await createUser(t, { role: 'instructor' });
        const key = newKey();
        const body = { title: uniqueTitle() };
        const mine = await createCourse(t.request(), instructor, key, body);
        const theirs = await createCourse(t.request(), other, key, body);
        expect([mine.status, theirs.status]).toEqual([201, 201]);
        expect(theirs.headers[REPLAYED]).toBeUndefined();
        expect(theirs.body.id).not.toBe(mine.body.id);
        expect(theirs.body.instructor.id).toBe(other.id);
        expect(await coursesTitled(t, body.title)).toBe(2);
      });

      it('scopes keys to the operation: the same key on createSection runs', async () => {
        const t = current();
        const key = newKey();
        const course = await createCourse(t.request(), instructor, key, { title: uniqueTitle() });
        expect(course.status).toBe(201);
        const section = await t
          .request()
          .post(`/api/v1/courses/${course.body.id}/sections`)
          .set(bearer(instructor))
          .set('Idempotency-Key', key)
          .send({ title: 'Section one' });
        expect(section.status).toBe(201);
        expect(section.headers[REPLAYED]).toBeUndefined();
        const retry = await t
          .request()
          .post(`/api/v1/courses/${course.body.id}/sections`)
          .set(bearer(instructor))
          .set('Idempotency-Key', key)
          .send({ title: 'Section one' });
        expect(retry.headers[REPLAYED]).toBe('true');
        expect(retry.text).toBe(section.text);
        const outline = await t
          .request()
          .get(`/api/v1/courses/${course.body.id}/outline`)
          .set(bearer(instructor));
        expect(outline.body.sections).toHaveLength(1);
      });

      it('replays createLesson with its ETag', async () => {
        const t = current();
        const courseId = await publishedCourse();
        const section = await t
          .request()
          .post(`/api/v1/courses/${courseId}/sections`)
          .set(bearer(instructor))
          .send({ title: 'Lessons' });
        const key = newKey();
        const post = () =>
          t
            .request()
            .post(`/api/v1/courses/${courseId}/sections/${section.body.id}/lessons`)
            .set(bearer(instructor))
            .set('Idempotency-Key', key)
            .send({ title: 'Lesson one', kind: 'text', body: 'Hello' });
        const first = await post();
        expect(first.status).toBe(201);
        expect(first.headers.etag).toBeDefined();
        const retry = await post();
        expect(comparable(retry)).toEqual(comparable(first));
        expect(retry.headers[REPLAYED]).toBe('true');
      });

      it.each([
        ['256 characters', 'k'.repeat(256)],
        ['a space', 'a key'],
        ['a tab', 'a\tkey'],
        ['a Latin-1 character', 'cl\u00e9'],
        ['nothing', ''],
      ])('refuses a key of %s with a 400, and runs nothing', async (_label, key) => {
        const t = current();
        const title = uniqueTitle();
        const res = await createCourse(t.request(), instructor, key, { title });
        expect(res.status).toBe(400);
        expect(res.body.type).toBe(`${PROBLEMS}validation-error`);
        expect(await coursesTitled(t, title)).toBe(0);
      });

      it('takes a key of 255 printable characters', async () => {
        const t = current();
        const key = `${'~'.repeat(218)}!${randomUUID()}`;
        expect(key).toHaveLength(255);
        const body = { title: uniqueTitle() };
        expect((await createCourse(t.request(), instructor, key, body)).status).toBe(201);
        const retry = await createCourse(t.request(), instructor, key, body);
        expect(retry.headers[REPLAYED]).toBe('true');
      });

      it('forgets a key after it expires: the sweep deletes it, and the key runs afresh', async () => {
        const t = current();
        const { idempotencyKeys } = t.database.t;
        const key = newKey();
        const first = await createCourse(t.request(), instructor, key, { title: uniqueTitle() });
        expect(first.status).toBe(201);
        const mine = keyHolding(t, first.body.id);
        await t.database.transaction((tx) =>
          tx
            .update(idempotencyKeys)
            .set({ expiresAt: new Date(Date.now() - 1_000) })
            .where(mine),
        );
        expect(await t.services.idempotency.sweep()).toBeGreaterThanOrEqual(1);
        expect(await t.database.db.select().from(idempotencyKeys).where(mine)).toHaveLength(0);

        const title = uniqueTitle();
        const fresh = await createCourse(t.request(), instructor, key, { title });
        expect(fresh.status).toBe(201);
        expect(fresh.headers[REPLAYED]).toBeUndefined();
        expect(await coursesTitled(t, title)).toBe(1);
      });

      it('does not replay an expired key that the sweep has not reached yet', async () => {
        const t = current();
        const { idempotencyKeys } = t.database.t;
        const key = newKey();
        const first = await createCourse(t.request(), instructor, key, { title: uniqueTitle() });
        await t.database.transaction((tx) =>
          tx
            .update(idempotencyKeys)
            .set({ expiresAt: new Date(Date.now() - 1_000) })
            .where(keyHolding(t, first.body.id)),
        );
        const title = uniqueTitle();
        const fresh = await createCourse(t.request(), instructor, key, { title });
        expect(fresh.status).toBe(201);
        expect(fresh.headers[REPLAYED]).toBeUndefined();
      });

      it('keeps answers sealed, and runs afresh an answer sealed under another key', async () => {
        const t = current();
        const { idempotencyKeys } = t.database.t;
        const key = newKey();
        const title = uniqueTitle();
        const first = await createCourse(t.request(), instructor, key, { title });
        expect(first.status).toBe(201);
        const [stored] = await t.database.db
          .select({ body: idempotencyKeys.body })
          .from(idempotencyKeys)
          .where(keyHolding(t, first.body.id));
        expect(stored?.body).toBeTruthy();
        expect(stored?.body).not.toContain(title);
        // As if JWT_SECRET (or WEBHOOK_SECRET_KEY) had changed since it was kept.
        await t.database.transaction((tx) =>
          tx
            .update(idempotencyKeys)
            .set({ body: 'v1.sealed-under-another-key' })
            .where(keyHolding(t, first.body.id)),
        );
        const retry = await createCourse(t.request(), instructor, key, { title });
        expect(retry.status).toBe(201);
        expect(retry.headers[REPLAYED]).toBeUndefined();
        expect(retry.body.id).not.toBe(first.body.id);
      });

      it('sweeps only expired keys', async () => {
        const t = current();
        const { idempotencyKeys } = t.database.t;
        const first = await createCourse(t.request(), instructor, newKey(), {
          title: uniqueTitle(),
        });
        await t.services.idempotency.sweep();
        const kept = await t.database.db
          .select({ status: idempotencyKeys.status })
          .from(idempotencyKeys)
          .where(keyHolding(t, first.body.id));
        expect(kept).toEqual([{ status: 201 }]);
      });
    });

    describe('enrollInCourse', () => {
      it('enrolls once: a retry replays the 201 and takes no second seat', async () => {
        const t = current();
        const courseId = await publishedCourse({ capacity: 5 });
        const key = newKey();
        const first = await enroll(t.request(), student, courseId, key);
        expect(first.status).toBe(201);
        expect(first.headers.location).toBe(`/api/v1/courses/${courseId}/enroll`);
        const retry = await enroll(t.request(), student, courseId, key);
        expect(comparable(retry)).toEqual(comparable(first));
        expect(retry.headers[REPLAYED]).toBe('true');
        const course = await t.request().get(`/api/v1/courses/${courseId}`);
        expect(course.body.enrolledCount).toBe(1);
      });

      it('answers 422 to the same key on another course (another path)', async () => {
        const t = current();
        const key = newKey();
        const first = await enroll(t.request(), student, await publishedCourse(), key);
        expect(first.status).toBe(201);
        const elsewhere = await publishedCourse();
        const reused = await enroll(t.request(), student, elsewhere, key);
        expect(reused.status).toBe(422);
        const course = await t.request().get(`/api/v1/courses/${elsewhere}`);
        expect(course.body.enrolledCount).toBe(0);
      });

      it('keeps a 409: the retry replays it even once a seat is free', async () => {
        const t = current();
        const courseId = await publishedCourse({ capacity: 1 });
        const other = await createUser(t);
        expect((await enroll(t.request(), other, courseId, newKey())).status).toBe(201);
        const key = newKey();
        const first = await enroll(t.request(), student, courseId, key);
        expect(first.status).toBe(409);
        expect(first.body.type).toBe(`${PROBLEMS}course-full`);
        const left = await t
          .request()
          .delete(`/api/v1/courses/${courseId}/enroll`)
          .set(bearer(other));
        expect(left.status).toBe(204);

        const retry = await enroll(t.request(), student, courseId, key);
        expect(retry.status).toBe(409);
        expect(retry.headers[REPLAYED]).toBe('true');
        expect(retry.text).toBe(first.text);
        // A new key is a new request.
        expect((await enroll(t.request(), student, courseId, newKey())).status).toBe(201);
      });
    });

    describe('registerUser (anonymous: scoped to the client address)', () => {
      it('registers once: a retry replays the 201', async () => {
        const t = current();
        const key = newKey();
        const body = registration();
        const first = await register(t.request(), key, body);
        expect(first.status).toBe(201);
        const retry = await register(t.request(), key, body);
        expect(comparable(retry)).toEqual(comparable(first));
        expect(retry.headers[REPLAYED]).toBe('true');
        expect(retry.headers['cache-control']).toBe('no-store');
        expect(await usersWithEmail(t, body.email)).toBe(1);
      });

      it('answers 409 in flight while the password is still being hashed', async () => {
        const t = current();
        const key = newKey();
        const body = registration();
        const first = register(t.request(), key, body).then((res) => res);
        // The first request holds the key as soon as it is claimed; poll until it is.
        const { idempotencyKeys } = t.database.t;
        for (let i = 0; i < 200; i++) {
          const held = await t.database.db
            .select({ id: idempotencyKeys.id })
            .from(idempotencyKeys)
            .where(isNull(idempotencyKeys.status));
          if (held.length > 0) break;
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        const meanwhile = await register(t.request(), key, body);
        const done = await first;
        expect(done.status).toBe(201);
        // Hashing takes tens of milliseconds: the duplicate met the running request, or its answer.
        if (meanwhile.status === 409) {
          expect(meanwhile.body.type).toBe(`${PROBLEMS}idempotency-key-in-flight`);
          expect(meanwhile.headers['retry-after']).toBe('1');
        } else {
          expect(meanwhile.headers[REPLAYED]).toBe('true');
          expect(meanwhile.text).toBe(done.text);
        }
        expect(await usersWithEmail(t, body.email)).toBe(1);
      });

      it('scopes anonymous keys to the address: another address runs its own request', async () => {
        const t = current();
        const key = newKey();
        const body = registration();
        const here = await register(t.request(), key, body, '203.0.113.10');
        expect(here.status).toBe(201);
        const there = await register(t.request(), key, body, '198.51.100.20');
        expect(there.status).toBe(409);
        expect(there.body.type).toBe(`${PROBLEMS}email-taken`);
        expect(there.headers[REPLAYED]).toBeUndefined();
        const again = await register(t.request(), key, body, '203.0.113.10');
        expect(again.headers[REPLAYED]).toBe('true');
        expect(again.text).toBe(here.text);
      });
    });
  },
  // Trusts one proxy, so that X-Forwarded-For can stand for another client address.
  { TRUST_PROXY: '1' },
);

const describePg = DIALECTS.includes('postgresql') ? describe : describe.skip;

describePg('Idempotency-Key across two instances on one PostgreSQL', () => {
  let ctx: Awaited<ReturnType<typeof buildInstances>>;
  let a: TestApp;
  let b: TestApp;
  let instructor: TestUser;
  beforeAll(async () => {
    ctx = await buildInstances(2);
    [a, b] = ctx.instances as [TestApp, TestApp];
    instructor = await createUser(a, { role: 'instructor' });
  });
  afterAll(() => ctx.close());

  it('replays on one instance the answer the other gave', async () => {
    const key = newKey();
    const body = { title: uniqueTitle() };
    const first = await createCourse(a.request(), instructor, key, body);
    expect(first.status).toBe(201);
    const retry = await createCourse(b.request(), instructor, key, body);
    expect(comparable(retry)).toEqual(comparable(first));
    expect(retry.headers[REPLAYED]).toBe('true');
    expect(await coursesTitled(a, body.title)).toBe(1);
  });

  it('lets exactly one of many parallel duplicates act, whichever instance they reach', async () => {
    const key = newKey();
    const body = { title: uniqueTitle() };
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        createCourse((i % 2 === 0 ? a : b).request(), instructor, key, body),
      ),
    );
    const acted = answers.filter((res) => res.status === 201 && !res.headers[REPLAYED]);
    expect(acted).toHaveLength(1);
    for (const res of answers) {
      if (res === acted[0]) continue;
      if (res.status === 409) {
        expect(res.body.type).toBe(`${PROBLEMS}idempotency-key-in-flight`);
        expect(res.headers['retry-after']).toBe('1');
      } else {
        expect(res.headers[REPLAYED]).toBe('true');
        expect(res.text).toBe(acted[0]!.text);
      }
    }
    expect(await coursesTitled(a, body.title)).toBe(1);
    // Once the first has answered, every retry replays it, on either instance.
    for (const instance of [a, b]) {
      const retry = await createCourse(instance.request(), instructor, key, body);
      expect(retry.headers[REPLAYED]).toBe('true');
      expect(retry.text).toBe(acted[0]!.text);
    }
  });
});
