import { randomUUID } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eq } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import { describeEachDatabase, startApp, type TestApp } from '../helpers/app';
import { DIALECTS, createTestDatabase } from '../helpers/databases';
import { buildInstances } from '../helpers/instances';
import { spawnServer } from '../helpers/server-process';
import { bearer, createUser, type TestUser } from '../helpers/users';
import type { WebhookWorker } from '../../src/services/webhook-worker';

const API = '/api/v1';
const describePg = DIALECTS.includes('postgresql') ? describe : describe.skip;

/** A message as a receiver got it. */
interface Received {
  path: string;
  id: string;
  headers: Record<string, string>;
  body: string;
  type: string;
  data: Record<string, unknown>;
}

/** What a receiver does with a message: answer with a status, or never answer. */
type Responder = (message: Received) => number | 'hang';

/**
 * A partner's receiver on loopback: records every message by path and answers as each test
 * says. Messages it leaves hanging are answered by `release`.
 */
class Receiver {
  readonly received: Received[] = [];
  private readonly responders = new Map<string, Responder>();
  private readonly hanging: ServerResponse[] = [];
  private readonly waiters: (() => void)[] = [];
  private server?: Server;
  base = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(req.headers)) {
          if (typeof value === 'string') headers[name] = value;
        }
        const parsed = JSON.parse(body) as { type: string; data: Record<string, unknown> };
        const message = {
          path: req.url ?? '',
          id: headers['webhook-id'] ?? '',
          headers,
          body,
          type: parsed.type,
          data: parsed.data,
        };
        this.received.push(message);
        for (const wake of this.waiters.splice(0)) wake();
        const answer = (this.responders.get(message.path) ?? (() => 204))(message);
        if (answer === 'hang') this.hanging.push(res);
        else res.writeHead(answer).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** A path of its own for one endpoint, answered by `responder`. */
  hook(responder: Responder = () => 204): {
    url: string;
    path: string;
    messages: () => Received[];
  } {
    const hookPath = `/hooks/${randomUUID()}`;
    this.responders.set(hookPath, responder);
    return {
      url: `${this.base}${hookPath}`,
      path: hookPath,
      messages: () => this.received.filter((m) => m.path === hookPath),
    };
  }

  respond(hookPath: string, responder: Responder): void {
    this.responders.set(hookPath, responder);
  }

  /** Resolves once `count` messages in all have arrived. */
  async until(check: () => boolean, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!check()) {
      if (Date.now() > deadline) throw new Error('timed out waiting for webhooks');
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  /** Answers every message left hanging. */
  release(status: number): void {
    for (const res of this.hanging.splice(0)) if (!res.destroyed) res.writeHead(status).end();
  }

  async close(): Promise<void> {
    this.release(503);
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs the worker until nothing is due. */
async function deliverAll(worker: WebhookWorker): Promise<void> {
  for (let pass = 0; pass < 100; pass++) if ((await worker.runOnce()) === 0) return;
  throw new Error('deliveries never ran dry');
}

/** Checks a message's signature as a partner would, with the `standardwebhooks` package. */
function verify(message: Received, secret: string): unknown {
  return new Webhook(secret).verify(message.body, message.headers);
}

interface Endpoint {
  id: string;
  secret: string;
}

/** The admin operations on endpoints, through the API of one instance. */
function adminApi(t: () => TestApp, admin: () => TestUser) {
  const req = () => t().request();
  return {
    async create(url: string, events: string[] = ['*']): Promise<Endpoint> {
      const res = await req()
        .post(`${API}/webhooks`)
        .set(bearer(admin()))
        .send({ url, events, description: 'a test receiver' });
      expect(res.status).toBe(201);
      return { id: res.body.id, secret: res.body.secret };
    },
    async update(id: string, body: Record<string, unknown>) {
      const res = await req().patch(`${API}/webhooks/${id}`).set(bearer(admin())).send(body);
      expect(res.status).toBe(200);
      return res.body;
    },
    async remove(id: string, gone: number[] = []) {
      const { status } = await req().delete(`${API}/webhooks/${id}`).set(bearer(admin()));
      expect([204, ...gone]).toContain(status);
    },
    async rotate(id: string): Promise<string> {
      const res = await req().post(`${API}/webhooks/${id}/rotate-secret`).set(bearer(admin()));
      expect(res.status).toBe(200);
      return res.body.secret;
    },
    deliveries: (id: string, query = '') =>
      req().get(`${API}/webhooks/${id}/deliveries${query}`).set(bearer(admin())),
    redeliver: (id: string, deliveryId: string) =>
      req().post(`${API}/webhooks/${id}/deliveries/${deliveryId}/redeliver`).set(bearer(admin())),
  };
}

/** A course of `owner` through the API: one change, so one `course.created`. */
async function createCourse(t: TestApp, owner: TestUser, body: Record<string, unknown> = {}) {
  const res = await t
    .request()
    .post(`${API}/courses`)
    .set(bearer(owner))
    .send({ title: 'Webhooks 101', ...body });
  expect(res.status).toBe(201);
  return res.body as Record<string, unknown> & { id: string };
}

const WEBHOOK_ENV = { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', WEBHOOK_TIMEOUT_MS: '2000' };

describeEachDatabase(
  'webhook delivery',
  (t) => {
    const receiver = new Receiver();
    let admin: TestUser;
    let instructor: TestUser;
    const api = adminApi(t, () => admin);
    const created: string[] = [];
    /** A new endpoint on a path of its own; deleted after the test. */
    async function endpoint(events: string[] = ['*'], responder?: Responder) {
      const hook = receiver.hook(responder);
      const registered = await api.create(hook.url, events);
      created.push(registered.id);
      return { ...registered, ...hook };
    }
    /** A worker of the test's own: retries due at once unless a schedule is given. */
    const worker = (settings: Parameters<TestApp['services']['createWebhookWorker']>[0] = {}) =>
      t().services.createWebhookWorker({ schedule: [0, 0, 0], ...settings });

    beforeAll(async () => {
      await receiver.start();
      admin = await createUser(t(), { role: 'admin' });
      instructor = await createUser(t(), { role: 'instructor' });
    });
    afterEach(async () => {
      // Nothing of one test reaches the next: its endpoints go, and their messages with them.
      for (const id of created.splice(0)) await api.remove(id, [404]);
      await deliverAll(worker());
    });
    afterAll(async () => {
      await receiver.close();
    });

    it('delivers each event of a partner flow once, signed, with its documented data', async () => {
      const hook = await endpoint(['*']);
      const req = () => t().request();
      // A student registers and signs in.
      const email = `partner-${randomUUID().slice(0, 8)}@example.com`;
      const registered = await req()
        .post(`${API}/auth/register`)
        .send({ email, password: 'a-long-enough-password', name: 'Partner Student' });
      expect(registered.status).toBe(201);
      const login = await req()
        .post(`${API}/auth/login`)
        .send({ email, password: 'a-long-enough-password' });
      expect(login.status).toBe(200);
      const student = { token: login.body.accessToken as string };
      // The instructor writes a course of two lessons and publishes it.
      const course = await createCourse(t(), instructor, { capacity: 10 });
      const section = await req()
        .post(`${API}/courses/${course.id}/sections`)
        .set(bearer(instructor))
        .send({ title: 'Only section' });
      const lessonIds: string[] = [];
      for (const title of ['One', 'Two']) {
        const lesson = await req()
          .post(`${API}/courses/${course.id}/sections/${section.body.id}/lessons`)
          .set(bearer(instructor))
          .send({ title, kind: 'text', body: 'Read me.', status: 'published' });
        expect(lesson.status).toBe(201);
        lessonIds.push(lesson.body.id);
      }
      const editable = {
        title: course.title,
        description: course.description,
        category: course.category,
        level: course.level,
        language: course.language,
        capacity: course.capacity,
      };
      const published = await req()
        .put(`${API}/courses/${course.id}`)
        .set(bearer(instructor))
        .send({ ...editable, status: 'published' });
      expect(published.status).toBe(200);
      // The student enrolls, completes every lesson (one of them twice), and leaves.
      const enrolled = await req().post(`${API}/courses/${course.id}/enroll`).set(bearer(student));
      expect(enrolled.status).toBe(201);
      const completions = [];
      for (const lessonId of [...lessonIds, lessonIds[0]]) {
        const done = await req()
          .put(`${API}/courses/${course.id}/lessons/${lessonId}/completion`)
          .set(bearer(student));
        expect(done.status).toBe(200);
        completions.push(done.body);
      }
      expect(
        (await req().delete(`${API}/courses/${course.id}/enroll`).set(bearer(student))).status,
      ).toBe(204);
      // The course is archived, then deleted.
      const archived = await req()
        .put(`${API}/courses/${course.id}`)
        .set(bearer(instructor))
        .send({ ...editable, status: 'archived' });
      expect(archived.status).toBe(200);
      expect(
        (await req().delete(`${API}/courses/${course.id}`).set(bearer(instructor))).status,
      ).toBe(204);

      await deliverAll(worker());
      const messages = hook.messages();
      const byType = (type: string) => messages.filter((m) => m.type === type);
      const counts: Record<string, number> = {};
      for (const m of messages) counts[m.type] = (counts[m.type] ?? 0) + 1;
      expect(counts).toEqual({
        'user.registered': 1,
        'course.created': 1,
        'course.updated': 2,
        'course.published': 1,
        'enrollment.created': 1,
        'lesson.completed': 2,
        'course.completed': 1,
        'enrollment.cancelled': 1,
        'course.archived': 1,
        'course.deleted': 1,
      });
      // Each message once, signed by Standard Webhooks, its body the documented message.
      expect(new Set(messages.map((m) => m.id)).size).toBe(messages.length);
      for (const m of messages) {
        expect(m.headers['content-type']).toBe('application/json');
        expect(m.headers['webhook-timestamp']).toMatch(/^\d+$/);
        const body = verify(m, hook.secret) as Record<string, unknown>;
        expect(Object.keys(body).sort()).toEqual(['data', 'timestamp', 'type']);
        expect(new Date(body.timestamp as string).toISOString()).toBe(body.timestamp);
      }
      expect(byType('user.registered')[0]!.data).toEqual(registered.body);
      expect(byType('course.created')[0]!.data).toEqual(course);
      expect(byType('course.published')[0]!.data).toEqual(published.body);
      expect(byType('course.archived')[0]!.data).toEqual(archived.body);
      expect(byType('course.updated').map((m) => m.data)).toEqual(
        expect.arrayContaining([published.body, archived.body]),
      );
      expect(byType('enrollment.created')[0]!.data).toEqual(enrolled.body);
      const userId = enrolled.body.userId as string;
      expect(byType('lesson.completed').map((m) => m.data)).toEqual(
        expect.arrayContaining(
          completions
            .slice(0, 2)
            .map((completion) => ({ courseId: course.id, userId, ...completion })),
        ),
      );
      const finished = completions[1].progress;
      expect(finished).toMatchObject({ completedLessons: 2, totalLessons: 2, percent: 100 });
      expect(byType('course.completed')[0]!.data).toEqual({
        courseId: course.id,
        userId,
        progress: finished,
      });
      expect(byType('enrollment.cancelled')[0]!.data).toMatchObject({
        id: enrolled.body.id,
        courseId: course.id,
        userId,
        status: 'cancelled',
        enrolledAt: enrolled.body.enrolledAt,
        progress: finished,
      });
      expect(byType('course.deleted')[0]!.data).toEqual({ id: course.id });
    });

    it('sends only the event types an endpoint subscribed to', async () => {
      const hook = await endpoint(['course.deleted']);
      const course = await createCourse(t(), instructor);
      await deliverAll(worker());
      expect(hook.messages()).toHaveLength(0);
      await t().request().delete(`${API}/courses/${course.id}`).set(bearer(instructor));
      await deliverAll(worker());
      expect(hook.messages().map((m) => m.type)).toEqual(['course.deleted']);
    });

    it('sends nothing for a change that rolls back', async () => {
      const hook = await endpoint(['*']);
      const { database, services } = t();
      const nudged = jest.spyOn(services.webhookWorker, 'nudge');
      // A message written, then the transaction fails: the message goes with it.
      await expect(
        database.transaction(async (tx) => {
          await services.outbox.emit(tx, 'course.deleted', { id: randomUUID() });
          throw new Error('the change failed');
        }),
      ).rejects.toThrow('the change failed');
      expect(nudged).not.toHaveBeenCalled();
      nudged.mockRestore();
      // A refused change writes nothing either.
      const course = await createCourse(t(), instructor);
      const refused = await t()
        .request()
        .put(`${API}/courses/${course.id}`)
        .set(bearer(instructor))
        .set('If-Match', '"stale"')
        .send({
          title: 'x',
          description: '',
          category: null,
          level: null,
          language: 'en',
          status: 'published',
          capacity: null,
        });
      expect(refused.status).toBe(412);
      await deliverAll(worker());
      expect(hook.messages().map((m) => m.type)).toEqual(['course.created']);
      const listed = await api.deliveries(hook.id);
      expect(listed.body.items.map((d: { eventType: string }) => d.eventType)).toEqual([
        'course.created',
      ]);
    });

    it('retries a failed attempt with the same webhook-id on the schedule, then delivers', async () => {
      let calls = 0;
      const hook = await endpoint(['course.created'], () => (++calls === 1 ? 500 : 200));
      await createCourse(t(), instructor);
      const slow = worker({ schedule: [400, 400] });
      expect(await slow.runOnce()).toBe(1);
      const [first] = (await api.deliveries(hook.id)).body.items;
      expect(first).toMatchObject({
        eventType: 'course.created',
        status: 'pending',
        attempts: 1,
        lastStatusCode: 500,
      });
      expect(Date.parse(first.nextAttemptAt) - Date.parse(first.lastAttemptAt)).toBe(400);
      // Not due before its time.
      expect(await slow.runOnce()).toBe(0);
      await sleep(450);
      expect(await slow.runOnce()).toBe(1);
      const [one, two] = hook.messages();
      expect(two!.id).toBe(one!.id);
      expect(two!.body).toBe(one!.body);
      verify(two!, hook.secret);
      const [after] = (await api.deliveries(hook.id)).body.items;
      expect(after).toMatchObject({
        id: one!.id,
        status: 'delivered',
        attempts: 2,
        lastStatusCode: 200,
        nextAttemptAt: null,
      });
    });

    it('retries an attempt that times out', async () => {
      let calls = 0;
      const hook = await endpoint(['course.created'], () => (++calls === 1 ? 'hang' : 200));
      await createCourse(t(), instructor);
      const started = Date.now();
      expect(await worker({ timeoutMs: 300 }).runOnce()).toBe(1);
      expect(Date.now() - started).toBeLessThan(2_000);
      const [timedOut] = (await api.deliveries(hook.id)).body.items;
      expect(timedOut).toMatchObject({ status: 'pending', attempts: 1, lastStatusCode: null });
      await deliverAll(worker({ timeoutMs: 300 }));
      const [first, second] = hook.messages();
      expect(second!.id).toBe(first!.id);
      expect((await api.deliveries(hook.id)).body.items[0]).toMatchObject({
        status: 'delivered',
        attempts: 2,
        lastStatusCode: 200,
      });
    });

    it('marks a delivery failed after its last attempt; redelivery sends the same message', async () => {
      let answer = 503;
      const hook = await endpoint(['course.created'], () => answer);
      await createCourse(t(), instructor);
      const failedBefore = await counted(t(), 'failed');
      await deliverAll(worker({ schedule: [0, 0] }));
      expect(hook.messages()).toHaveLength(3);
      const [failed] = (await api.deliveries(hook.id)).body.items;
      expect(failed).toMatchObject({
        status: 'failed',
        attempts: 3,
        lastStatusCode: 503,
        nextAttemptAt: null,
      });
      expect(await counted(t(), 'failed')).toBe(failedBefore + 1);

      answer = 200;
      const queued = await api.redeliver(hook.id, failed.id);
      expect(queued.status).toBe(202);
      expect(queued.body).toMatchObject({ id: failed.id, status: 'pending', attempts: 3 });
      expect(queued.body.nextAttemptAt).not.toBeNull();
      await deliverAll(worker({ schedule: [0, 0] }));
      const messages = hook.messages();
      expect(messages).toHaveLength(4);
      expect(new Set(messages.map((m) => m.id))).toEqual(new Set([failed.id]));
      expect((await api.deliveries(hook.id)).body.items[0]).toMatchObject({
        status: 'delivered',
        attempts: 4,
        lastStatusCode: 200,
      });
      // A delivery of another endpoint, or none at all, is 404.
      const other = await endpoint(['course.created']);
      expect((await api.redeliver(other.id, failed.id)).status).toBe(404);
      expect((await api.redeliver(hook.id, randomUUID())).status).toBe(404);
    });

    it('signs with both the old and the new secret while a rotation overlaps', async () => {
      const hook = await endpoint(['course.created']);
      const rotated = await api.rotate(hook.id);
      expect(rotated).not.toBe(hook.secret);
      await createCourse(t(), instructor);
      await deliverAll(worker());
      const [message] = hook.messages();
      expect(message!.headers['webhook-signature']!.split(' ')).toHaveLength(2);
      expect(verify(message!, rotated)).toMatchObject({ type: 'course.created' });
      expect(verify(message!, hook.secret)).toMatchObject({ type: 'course.created' });
      expect(() => verify(message!, `whsec_${Buffer.alloc(32, 7).toString('base64')}`)).toThrow();
    });

    it('sends nothing to a disabled endpoint until it is enabled, nor to a deleted one', async () => {
      const hook = await endpoint(['course.created']);
      await createCourse(t(), instructor);
      await api.update(hook.id, { enabled: false });
      // Queued before: it waits. Happened while disabled: not kept for it.
      await createCourse(t(), instructor);
      await deliverAll(worker());
      expect(hook.messages()).toHaveLength(0);
      const waiting = (await api.deliveries(hook.id)).body.items;
      expect(waiting).toHaveLength(1);
      expect(waiting[0]).toMatchObject({ status: 'pending', attempts: 0 });
      await api.update(hook.id, { enabled: true });
      await deliverAll(worker());
      expect(hook.messages().map((m) => m.id)).toEqual([waiting[0].id]);

      const gone = await endpoint(['course.created']);
      await createCourse(t(), instructor);
      const [queued] = (await api.deliveries(gone.id)).body.items;
      await api.remove(gone.id);
      await deliverAll(worker());
      expect(gone.messages()).toHaveLength(0);
      const { database } = t();
      const [row] = await database.db
        .select()
        .from(database.t.webhookDeliveries)
        .where(eq(database.t.webhookDeliveries.id, queued.id));
      expect(row).toMatchObject({ status: 'failed', attempts: 0, lockedUntil: null });
      expect((await api.deliveries(gone.id)).status).toBe(404);
    });

    it('lists deliveries newest first, page by page, with attempts and status codes', async () => {
      const hook = await endpoint(['course.created'], () => 202);
      for (let i = 0; i < 3; i++) await createCourse(t(), instructor, { title: `Course ${i}` });
      await deliverAll(worker());
      const first = await api.deliveries(hook.id, '?limit=2');
      expect(first.status).toBe(200);
      expect(first.body.items).toHaveLength(2);
      expect(first.headers.link).toContain('cursor=');
      const second = await api.deliveries(
        hook.id,
        `?limit=2&cursor=${encodeURIComponent(first.body.nextCursor)}`,
      );
      expect(second.body.items).toHaveLength(1);
      expect(second.body.nextCursor).toBeNull();
      const items = [...first.body.items, ...second.body.items];
      const created = items.map((d: { createdAt: string }) => Date.parse(d.createdAt));
      expect(created).toEqual([...created].sort((a, b) => b - a));
      for (const item of items) {
        expect(item).toMatchObject({
          eventType: 'course.created',
          status: 'delivered',
          attempts: 1,
          lastStatusCode: 202,
          nextAttemptAt: null,
        });
      }
      // Messages are sent by id: each listed one arrived under its id.
      expect(new Set(hook.messages().map((m) => m.id))).toEqual(
        new Set(items.map((d: { id: string }) => d.id)),
      );
      // Admins only.
      const res = await t()
        .request()
        .get(`${API}/webhooks/${hook.id}/deliveries`)
        .set(bearer(instructor));
      expect(res.status).toBe(403);
      expect((await api.deliveries(randomUUID())).status).toBe(404);
    });

    it("wakes the instance's worker after the commit, holding up no request", async () => {
      const hook = await endpoint(['course.created'], () => 'hang');
      const running = t().services.webhookWorker;
      const nudged = jest.spyOn(running, 'nudge');
      running.start();
      try {
        const started = Date.now();
        await createCourse(t(), instructor);
        // The request answered while its message waits to be sent.
        expect(Date.now() - started).toBeLessThan(1_000);
        expect(nudged).toHaveBeenCalledTimes(1);
        await receiver.until(() => hook.messages().length === 1);
        expect(running.inFlight).toBe(1);
        receiver.release(200);
        await running.stop();
      } finally {
        nudged.mockRestore();
      }
      expect((await api.deliveries(hook.id)).body.items[0]).toMatchObject({
        status: 'delivered',
      });
    });

    it('releases a claim in flight on stop, untried, for another worker to send', async () => {
      const hook = await endpoint(['course.created'], () => 'hang');
      await createCourse(t(), instructor);
      const stopping = worker({ timeoutMs: 20_000, graceMs: 200 });
      const attempt = stopping.runOnce();
      await receiver.until(() => hook.messages().length === 1);
      await stopping.stop();
      await attempt;
      const [released] = (await api.deliveries(hook.id)).body.items;
      expect(released).toMatchObject({ status: 'pending', attempts: 0, lastStatusCode: null });
      receiver.respond(hook.path, () => 200);
      await deliverAll(worker());
      expect(hook.messages().map((m) => m.id)).toEqual([released.id, released.id]);
    });

    it('counts attempts by outcome in the metrics', async () => {
      const text = await t().services.metrics.scrape();
      for (const outcome of ['delivered', 'retrying', 'failed']) {
        expect(text).toMatch(
          new RegExp(`^opencourse_webhook_deliveries_total\\{outcome="${outcome}"\\} [1-9]`, 'm'),
        );
      }
    });
  },
  WEBHOOK_ENV,
);

/** `opencourse_webhook_deliveries_total{outcome}` of an instance. */
async function counted(t: TestApp, outcome: string): Promise<number> {
  const text = await t.services.metrics.scrape();
  const match = new RegExp(
    `^opencourse_webhook_deliveries_total\\{outcome="${outcome}"\\} (\\d+)`,
    'm',
  ).exec(text);
  return Number(match?.[1] ?? 0);
}

describePg('webhook delivery across instances [postgresql]', () => {
  const receiver = new Receiver();
  let instances: TestApp[];
  let close: () => Promise<void>;
  let admin: TestUser;
  let instructor: TestUser;
  const api = adminApi(
    () => instances[0]!,
    () => admin,
  );

  beforeAll(async () => {
    await receiver.start();
    ({ instances, close } = await buildInstances(2, WEBHOOK_ENV));
    admin = await createUser(instances[0]!, { role: 'admin' });
    instructor = await createUser(instances[0]!, { role: 'instructor' });
  });
  afterAll(async () => {
    await close();
    await receiver.close();
  });

  it('delivers each message exactly once with both instances delivering', async () => {
    const hook = receiver.hook(() => 204);
    const { id } = await api.create(hook.url, ['course.created']);
    // A backlog first, that both workers start on at the same moment...
    for (let i = 0; i < 30; i++) await createCourse(instances[i % 2]!, instructor);
    const workers = instances.map((instance) => instance.services.webhookWorker);
    const before = await Promise.all(instances.map((i) => counted(i, 'delivered')));
    for (const w of workers) w.start();
    // ...then changes on either instance while both run.
    await Promise.all(
      Array.from({ length: 30 }, (_, i) => createCourse(instances[i % 2]!, instructor)),
    );
    await receiver.until(() => hook.messages().length >= 60, 20_000);
    await sleep(1_500);
    const ids = hook.messages().map((m) => m.id);
    expect(ids).toHaveLength(60);
    expect(new Set(ids).size).toBe(60);
    const after = await Promise.all(instances.map((i) => counted(i, 'delivered')));
    expect(after[0]! - before[0]! + (after[1]! - before[1]!)).toBe(60);
    const listed = await api.deliveries(id, '?limit=100');
    expect(listed.body.items).toHaveLength(60);
    for (const item of listed.body.items)
      expect(item).toMatchObject({ status: 'delivered', attempts: 1 });
    await Promise.all(workers.map((w) => w.stop()));
    await api.remove(id);
  });

  it("takes over a delivery whose worker died once its lease runs out, fencing the dead one's record", async () => {
    let calls = 0;
    const hook = receiver.hook(() => (++calls === 1 ? 'hang' : 200));
    const { id } = await api.create(hook.url, ['course.created']);
    await createCourse(instances[0]!, instructor);
    const [a, b] = instances.map((instance) =>
      instance.services.createWebhookWorker({ leaseMs: 1_000, timeoutMs: 20_000 }),
    );
    // Instance A claims the message and hangs on it, as if it had died mid-attempt.
    const dying = a!.runOnce();
    await receiver.until(() => hook.messages().length === 1);
    expect(await b!.runOnce()).toBe(0);
    await sleep(1_100);
    expect(await b!.runOnce()).toBe(1);
    const [first, second] = hook.messages();
    expect(second!.id).toBe(first!.id);
    // A's attempt ends after all: the delivery is B's now, and A's record is refused.
    receiver.release(200);
    await dying;
    expect((await api.deliveries(id)).body.items[0]).toMatchObject({
      status: 'delivered',
      attempts: 1,
    });
    await api.remove(id);
  });
});

/** The server as an operator runs it, for what only a real process shows (SIGTERM, SIGKILL). */
function startServer(env: Record<string, string>) {
  return spawnServer({
    JWT_SECRET: 'test-secret-that-is-at-least-32-bytes-long!',
    RATE_LIMIT_PER_MINUTE: '0',
    RATE_LIMIT_SENSITIVE_PER_HOUR: '0',
    ADMIN_EMAIL: 'admin@example.com',
    ADMIN_PASSWORD: 'an-admin-password-1',
    ...WEBHOOK_ENV,
    ...env,
  });
}

async function until(check: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await sleep(100);
  }
  throw new Error('timed out');
}

/** Signs in as the server's first admin and registers an endpoint for `user.registered`. */
async function registerEndpoint(base: string, url: string): Promise<string> {
  const json = { 'content-type': 'application/json' };
  const login = await fetch(`${base}${API}/auth/login`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ email: 'admin@example.com', password: 'an-admin-password-1' }),
  });
  const { accessToken } = (await login.json()) as { accessToken: string };
  const created = await fetch(`${base}${API}/webhooks`, {
    method: 'POST',
    headers: { ...json, authorization: `Bearer ${accessToken}` },
    body: JSON.stringify({ url, events: ['user.registered'] }),
  });
  expect(created.status).toBe(201);
  return ((await created.json()) as { id: string }).id;
}

async function register(base: string): Promise<void> {
  const res = await fetch(`${base}${API}/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      email: `p-${randomUUID().slice(0, 8)}@example.com`,
      password: 'a-long-enough-password',
      name: 'P',
    }),
  });
  expect(res.status).toBe(201);
}

describePg('webhook delivery in a server process [postgresql]', () => {
  const receiver = new Receiver();
  const drops: (() => Promise<void>)[] = [];
  beforeAll(() => receiver.start());
  afterAll(async () => {
    await receiver.close();
    for (const drop of drops) await drop();
  });

  async function deliveryRow(t: TestApp) {
    const rows = await t.database.db.select().from(t.database.t.webhookDeliveries);
    expect(rows).toHaveLength(1);
    return rows[0]!;
  }

  it('releases the delivery in flight on SIGTERM, and exits 0', async () => {
    const database = await createTestDatabase('postgresql');
    drops.push(database.drop);
    const server = startServer({ DATABASE_URL: database.url, WEBHOOK_TIMEOUT_MS: '30000' });
    await until(async () => (await fetch(`${server.base}/health/ready`)).ok);
    const hook = receiver.hook(() => 'hang');
    await registerEndpoint(server.base, hook.url);
    // The change answers at once; its message goes out from the worker and hangs there.
    await register(server.base);
    await receiver.until(() => hook.messages().length === 1);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(server.output()).not.toMatch(/"level":"error"/);
    const t = await startApp('postgresql', database.url, WEBHOOK_ENV);
    try {
      expect(await deliveryRow(t)).toMatchObject({
        status: 'pending',
        attempts: 0,
        lockedUntil: null,
      });
      receiver.respond(hook.path, () => 200);
      expect(await t.services.createWebhookWorker({}).runOnce()).toBe(1);
      expect(hook.messages().map((m) => m.id)).toEqual([
        hook.messages()[0]!.id,
        hook.messages()[0]!.id,
      ]);
    } finally {
      await t.close();
    }
  });

  it('delivers from another instance what a SIGKILLed one had claimed, once its lease ends', async () => {
    const database = await createTestDatabase('postgresql');
    drops.push(database.drop);
    // A 1 s attempt limit makes a lease of 2 x 1 s + 10 s.
    const server = startServer({ DATABASE_URL: database.url, WEBHOOK_TIMEOUT_MS: '1000' });
    await until(async () => (await fetch(`${server.base}/health/ready`)).ok);
    const hook = receiver.hook(() => 'hang');
    await registerEndpoint(server.base, hook.url);
    await register(server.base);
    await receiver.until(() => hook.messages().length === 1);
    server.child.kill('SIGKILL');
    await server.exited;
    const t = await startApp('postgresql', database.url, WEBHOOK_ENV);
    try {
      const claimed = await deliveryRow(t);
      expect(claimed).toMatchObject({ status: 'pending', attempts: 0 });
      expect(claimed.lockedUntil).not.toBeNull();
      receiver.respond(hook.path, () => 200);
      const survivor = t.services.createWebhookWorker({});
      expect(await survivor.runOnce()).toBe(0);
      await sleep(Math.max(0, claimed.lockedUntil!.getTime() - Date.now()) + 200);
      expect(await survivor.runOnce()).toBe(1);
      const ids = hook.messages().map((m) => m.id);
      expect(ids).toEqual([ids[0], ids[0]]);
      expect(await deliveryRow(t)).toMatchObject({ status: 'delivered', attempts: 1 });
    } finally {
      await t.close();
    }
  }, 40_000);
});
