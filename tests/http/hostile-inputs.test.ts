import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { openapiDocument } from '../../src/contract';
import { describeEachDatabase, type TestApp } from '../helpers/app';
import {
  buildCatalogue,
  operationIdsOf,
  type CaseContext,
  type Document,
  type HostileCase,
  type OperationCatalogue,
  type RawRequest,
} from '../helpers/catalogue';
import { bearer, createUser, type TestUser } from '../helpers/users';

// "Hostile input is a 4xx, never a 500, a hang or a crash" (api-v1.md, Conventions), held to
// for every operation of the document: the catalogue is derived from it when the test runs.
const document = openapiDocument as unknown as Document;
const catalogue = buildCatalogue(document);

/** Requests in flight at once: enough to finish in time, few enough for two cores. */
const CONCURRENCY = 10;
const ANSWER_TIMEOUT_MS = 10_000;

describe('the hostile-input catalogue', () => {
  it('covers every operation of the document', () => {
    const operationIds = operationIdsOf(document);
    expect(operationIds.length).toBeGreaterThan(0);
    expect(catalogue).toHaveLength(operationIds.length);
    expect(catalogue.map((op) => op.operationId).sort()).toEqual([...operationIds].sort());
  });

  it('derives cases from every declared parameter and request body', () => {
    for (const op of catalogue) {
      const labels = op.cases.map((c) => c.label);
      expect(labels).toContain('a valid request');
      for (const name of op.queryParams) expect(labels).toContain(`query ${name}: 10k characters`);
      for (const name of op.pathParams) expect(labels).toContain(`path ${name}: not-a-uuid`);
      if (op.hasJsonBody) expect(labels).toContain('whole body: malformed JSON');
      else expect(labels).toContain('unsolicited body: malformed JSON');
    }
  });
});

interface Answer {
  status: number;
  contentType: string;
  retryAfter?: string;
  text: string;
}

/**
 * Sends a request byte for byte as built. Supertest is not used here: it gives every string body
 * a Content-Type of its own and cannot send a body with none.
 */
function send(port: number, agent: http.Agent, req: RawRequest): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...req.headers };
    if (req.body !== undefined) headers['Content-Length'] = Buffer.byteLength(req.body);
    let answered: Answer | undefined;
    const outgoing = http.request(
      { host: '127.0.0.1', port, method: req.method, path: req.path, headers, agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          answered = {
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type'] ?? ''),
            retryAfter: res.headers['retry-after'],
            text: Buffer.concat(chunks).toString('utf8'),
          };
          resolve(answered);
        });
      },
    );
    outgoing.setTimeout(ANSWER_TIMEOUT_MS, () =>
      outgoing.destroy(new Error(`no answer within ${ANSWER_TIMEOUT_MS} ms`)),
    );
    outgoing.on('error', (err: NodeJS.ErrnoException) => {
      // A server may answer (413, say) and close before it has read a large body: that is an answer.
      if (answered) return resolve(answered);
      // An idle keep-alive socket that the server closed just as this request went out on it:
      // the race every keep-alive client meets, retried on a new socket as Node's docs advise. A
      // server that resets the request itself still fails on the fresh socket.
      if (outgoing.reusedSocket && err.code === 'ECONNRESET') {
        return resolve(send(port, agent, req));
      }
      reject(err);
    });
    outgoing.end(req.body);
  });
}

/**
 * Sends as a well-behaved client does: a 503 with Retry-After (the bounded password-hashing queue
 * shedding this test's own concurrency) is tried again a few times; one that persists is kept.
 */
async function sendPatiently(port: number, agent: http.Agent, req: RawRequest): Promise<Answer> {
  for (let attempt = 1; ; attempt++) {
    const answer = await send(port, agent, req);
    if (answer.status !== 503 || answer.retryAfter === undefined || attempt === 5) return answer;
    await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
  }
}

const snippet = (text: string) => text.replace(/\s+/g, ' ').slice(0, 200);

/** What is wrong with an answer to a hostile request, or undefined when nothing is. */
function verdictOn(hostile: HostileCase, answer: Answer): string | undefined {
  const { status, text } = answer;
  if (status >= 500) return `${status} ${snippet(text)}`;
  if (hostile.mustRefuse && status < 400)
    return `${status} to a value the document or the product refuses: ${snippet(text)}`;
  if (status < 400) return undefined;
  if (!/^application\/problem\+json/.test(answer.contentType))
    return `${status} as ${answer.contentType || 'no Content-Type'}, not a problem: ${snippet(text)}`;
  let problem: {
    type?: unknown;
    title?: unknown;
    status?: unknown;
    requestId?: unknown;
    errors?: { path?: string; message?: string }[];
  };
  try {
    problem = JSON.parse(text);
  } catch {
    return `${status} with a problem body that is not JSON: ${snippet(text)}`;
  }
  const missing = [
    typeof problem.type === 'string' ? '' : 'type',
    typeof problem.title === 'string' ? '' : 'title',
    problem.status === status ? '' : `status (${String(problem.status)})`,
    typeof problem.requestId === 'string' && problem.requestId ? '' : 'requestId',
  ].filter(Boolean);
  if (missing.length > 0) return `${status} problem lacks ${missing.join(', ')}: ${snippet(text)}`;
  if (hostile.accepted) {
    const { field, reason } = hostile.accepted;
    // Refused for its length (or size), or with the whole body (too deep, not JSON), unnamed.
    const refused =
      status === 413 ||
      (problem.errors ?? []).some((e) => e.path === field && reason.test(e.message ?? '')) ||
      (status === 400 &&
        String(problem.type).endsWith('/validation-error') &&
        !problem.errors?.length);
    if (refused) return `${status} refused a value the document accepts: ${snippet(text)}`;
  }
  return undefined;
}

/** Runs `work` over `items`, `size` at a time. */
async function inPool<T>(items: T[], size: number, work: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: size }, worker));
}

type CallerKind = 'anonymous' | 'admin' | 'instructor';

/** Who sends each case: everyone; course operations also their owner. */
const callersOf = (op: OperationCatalogue): CallerKind[] =>
  op.path.startsWith('/api/v1/courses')
    ? ['anonymous', 'admin', 'instructor']
    : ['anonymous', 'admin'];

describeEachDatabase(
  'hostile inputs',
  (current) => {
    let server: http.Server;
    let port: number;
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    let instructor: TestUser;

    beforeAll(async () => {
      server = http.createServer(current().app);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
      instructor = await createUser(current(), { role: 'instructor' });
    });

    afterAll(async () => {
      agent.destroy();
      await new Promise((resolve) => server.close(resolve));
    });

    /**
     * Existing resources for the operation's ids: a student, a published course, its content, a
     * webhook endpoint.
     */
    async function fixtures(t: TestApp): Promise<Record<string, string>> {
      const student = await createUser(t);
      const course = await t
        .request()
        .post('/api/v1/courses')
        .set(bearer(instructor))
        .send({ title: 'Hostile inputs fixture', status: 'published', capacity: 50 });
      if (course.status !== 201) throw new Error(`fixture course: ${course.status} ${course.text}`);
      const courseId = course.body.id as string;
      const section = await t
        .request()
        .post(`/api/v1/courses/${courseId}/sections`)
        .set(bearer(instructor))
        .send({ title: 'Fixture section' });
      if (section.status !== 201) throw new Error(`fixture section: ${section.status}`);
      const lesson = await t
        .request()
        .post(`/api/v1/courses/${courseId}/sections/${section.body.id}/lessons`)
        .set(bearer(instructor))
        .send({ title: 'Fixture lesson', kind: 'text', status: 'published', preview: true });
      if (lesson.status !== 201) throw new Error(`fixture lesson: ${lesson.status}`);
      const webhook = await t
        .request()
        .post('/api/v1/webhooks')
        .set(bearer(await createUser(t, { role: 'admin' })))
        .send({ url: 'https://hooks.example.com/opencourse', events: ['*'] });
      if (webhook.status !== 201) throw new Error(`fixture webhook: ${webhook.status}`);
      return {
        userId: student.id,
        courseId,
        sectionId: section.body.id,
        lessonId: lesson.body.id,
        instructorId: instructor.id,
        webhookId: webhook.body.id,
      };
    }

    /** After the catalogue: the service still answers, reads, writes and hashes. */
    async function stillServing(t: TestApp): Promise<string[]> {
      const broken: string[] = [];
      const ready = await t.request().get('/health/ready');
      if (ready.status !== 200) broken.push(`afterwards: /health/ready ${ready.status}`);
      const list = await t.request().get('/api/v1/courses').query({ limit: 1 });
      if (list.status !== 200) broken.push(`afterwards: listCourses ${list.status}`);
      const admin = await createUser(t, { role: 'admin' });
      const me = await t.request().get('/api/v1/users/me').set(bearer(admin));
      if (me.status !== 200) broken.push(`afterwards: getCurrentUser ${me.status}`);
      const registered = await sendPatiently(port, agent, {
        method: 'POST',
        path: '/api/v1/auth/register',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          email: `after-${randomUUID()}@example.com`,
          password: 'a perfectly long passphrase 1',
          name: 'After',
        }),
      });
      if (registered.status !== 201)
        broken.push(`afterwards: registerUser ${registered.status} ${snippet(registered.text)}`);
      return broken;
    }

    const rows = catalogue.map((op): [string, OperationCatalogue] => [
      `${op.operationId} (${op.method.toUpperCase()} ${op.path})`,
      op,
    ]);
    it.each(rows)(
      '%s answers every hostile case with a 4xx problem or a harmless 2xx',
      async (_label, op) => {
        const t = current();
        const ids = await fixtures(t);
        const sends = op.cases.flatMap((hostile) =>
          (hostile.ownAuthorization ? ['anonymous' as const] : callersOf(op)).map((caller) => ({
            hostile,
            caller,
          })),
        );
        const failures: string[] = [];
        await inPool(sends, CONCURRENCY, async ({ hostile, caller }) => {
          // A fresh admin each time: a case may log out, change the password or delete the caller.
          const user =
            caller === 'admin'
              ? await createUser(t, { role: 'admin' })
              : caller === 'instructor'
                ? instructor
                : undefined;
          const ctx: CaseContext = {
            ids,
            values: user ? { currentPassword: user.password } : {},
          };
          const request = hostile.build(ctx);
          if (user) request.headers.Authorization = `Bearer ${user.token}`;
          try {
            const answer = await sendPatiently(port, agent, request);
            const verdict = verdictOn(hostile, answer);
            if (verdict) failures.push(`${caller} | ${hostile.label} | ${verdict}`);
          } catch (err) {
            failures.push(`${caller} | ${hostile.label} | no answer: ${(err as Error).message}`);
          }
        });
        failures.push(...(await stillServing(t)));
        expect(failures).toEqual([]);
      },
      180_000,
    );
  },
  {
    RATE_LIMIT_PER_MINUTE: '0',
    RATE_LIMIT_SENSITIVE_PER_HOUR: '0',
    LOGIN_MAX_FAILURES: '1000',
    LOGIN_MAX_FAILURES_PER_DAY: '1000000',
    // Webhook URLs are then checked without DNS, which a test cannot count on.
    WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
  },
);
