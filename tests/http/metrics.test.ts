import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serveMetrics } from '../../src/observability/metrics';
import { describeEachDatabase, type TestApp } from '../helpers/app';
import { PASSWORD, login, uniqueEmail } from '../helpers/auth-flows';
import { catchMailFor } from '../helpers/smtp';
import { bearer, createUser, type TestUser } from '../helpers/users';

const COURSES = '/api/v1/courses';
const DURATION = 'http_server_request_duration_seconds';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition (comments skipped). */
function parse(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!match) throw new Error(`not a sample: ${line}`);
      const labels: Record<string, string> = {};
      for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
        labels[key!] = value!;
      }
      return { name: match[1]!, labels, value: Number(match[3]) };
    });
}

/** A started metrics listener over real HTTP, for one test app. */
function metricsOf(t: () => TestApp) {
  let server: Server | undefined;
  let base = '';
  beforeAll(async () => {
    server = await serveMetrics(t().services.metrics, 0, '127.0.0.1');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
  });

  const fetchPath = (path: string, init?: RequestInit) => fetch(`${base}${path}`, init);
  async function scrape() {
    const res = await fetchPath('/metrics');
    expect(res.status).toBe(200);
    const text = await res.text();
    const samples = parse(text);
    /** The value of the one series of `name` with exactly these labels (undefined: none). */
    const value = (name: string, labels: Record<string, string> = {}) => {
      const found = samples.filter(
        (s) =>
          s.name === name &&
          Object.keys(s.labels).length === Object.keys(labels).length &&
          Object.entries(labels).every(([k, v]) => s.labels[k] === v),
      );
      if (found.length > 1) throw new Error(`${found.length} series of ${name}`);
      return found[0]?.value;
    };
    return { text, samples, value };
  }
  return { fetchPath, scrape };
}

const getCourse2xx = {
  operation_id: 'getCourse',
  http_request_method: 'GET',
  http_response_status_class: '2xx',
};

const env: Record<string, string> = {};
const smtp = catchMailFor(env);

describeEachDatabase(
  'metrics',
  (t) => {
    const metrics = metricsOf(t);
    const api = () => t().request();
    let instructor: TestUser;
    let student: TestUser;

    beforeAll(async () => {
      instructor = await createUser(t(), { role: 'instructor' });
      student = await createUser(t());
    });

    const course = async (body: Record<string, unknown> = {}) => {
      const res = await api()
        .post(COURSES)
        .set(bearer(instructor))
        .send({ title: 'Measured', status: 'published', ...body });
      expect(res.status).toBe(201);
      return res.body.id as string;
    };

    it('serves the Prometheus text on a port of its own, at /metrics only', async () => {
      const res = await metrics.fetchPath('/metrics');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      expect((await metrics.fetchPath('/')).status).toBe(404);
      expect((await metrics.fetchPath('/metrics/x')).status).toBe(404);
      const posted = await metrics.fetchPath('/metrics', { method: 'POST' });
      expect(posted.status).toBe(405);
      expect(posted.headers.get('allow')).toBe('GET, HEAD');

      // The process defaults and the event-loop delay, once each.
      const { text, value } = await metrics.scrape();
      for (const name of [
        'nodejs_eventloop_lag_seconds',
        'nodejs_eventloop_lag_p99_seconds',
        'process_cpu_user_seconds_total',
        'nodejs_heap_size_used_bytes',
        DURATION,
        'opencourse_logins_total',
      ]) {
        expect(text.split('\n').filter((line) => line.startsWith(`# TYPE ${name} `))).toHaveLength(
          1,
        );
      }
      expect(value('process_cpu_user_seconds_total')).toBeGreaterThan(0);
    });

    it("answers /metrics on the API's own port with the usual 404 problem", async () => {
      const res = await api().get('/metrics');
      expect(res.status).toBe(404);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ type: 'https://opencourse.dev/problems/not-found' });
      expect(res.text).not.toMatch(/nodejs_|http_server/);
    });

    it('times requests by operationId, method and status class', async () => {
      const id = await course();
      const before = await metrics.scrape();
      const n = 7;
      for (let i = 0; i < n; i++) {
        expect((await api().get(`${COURSES}/${id}`)).status).toBe(200);
      }
      expect((await api().head(`${COURSES}/${id}`)).status).toBe(200);
      expect((await api().get(`${COURSES}/${randomUUID()}`)).status).toBe(404);
      expect((await api().get(`${COURSES}/not-a-uuid`)).status).toBe(400);
      const after = await metrics.scrape();

      const count = `${DURATION}_count`;
      const moved = (labels: Record<string, string>) =>
        (after.value(count, labels) ?? 0) - (before.value(count, labels) ?? 0);
      expect(moved(getCourse2xx)).toBe(n);
      expect(moved({ ...getCourse2xx, http_request_method: 'HEAD' })).toBe(1);
      expect(moved({ ...getCourse2xx, http_response_status_class: '4xx' })).toBe(2);
      expect(after.value(`${DURATION}_sum`, getCourse2xx)).toBeGreaterThan(
        before.value(`${DURATION}_sum`, getCourse2xx) ?? 0,
      );
      // Buckets from 1 ms to 10 s, the last finite one holding every request.
      const buckets = after.samples
        .filter((s) => s.name === `${DURATION}_bucket` && s.labels.operation_id === 'getCourse')
        .filter((s) => s.labels.http_request_method === 'GET')
        .filter((s) => s.labels.http_response_status_class === '2xx');
      expect(buckets.map((s) => s.labels.le)).toEqual([
        '0.001',
        '0.0025',
        '0.005',
        '0.01',
        '0.025',
        '0.05',
        '0.1',
        '0.25',
        '0.5',
        '1',
        '2.5',
        '5',
        '10',
        '+Inf',
      ]);
      expect(buckets.at(-2)?.value).toBe(after.value(count, getCourse2xx));
    });

    it('counts logins by outcome, and refusals of the login limit', async () => {
      const user = await createUser(t());
      const before = await metrics.scrape();
      expect((await login(t(), user.email, 'not the password at all')).status).toBe(401);
      expect((await login(t(), user.email, user.password)).status).toBe(200);
      // LOGIN_MAX_FAILURES (5) wrong passwords for one email, then even the right one is refused.
      const target = await createUser(t());
      for (let i = 0; i < 5; i++) {
        expect((await login(t(), target.email, 'wrong password again')).status).toBe(401);
      }
      expect((await login(t(), target.email, target.password)).status).toBe(429);
      const after = await metrics.scrape();

      const moved = (name: string, labels: Record<string, string>) =>
        (after.value(name, labels) ?? 0) - (before.value(name, labels) ?? 0);
      expect(moved('opencourse_logins_total', { outcome: 'success' })).toBe(1);
      expect(moved('opencourse_logins_total', { outcome: 'invalid_credentials' })).toBe(6);
      expect(moved('opencourse_logins_total', { outcome: 'rate_limited' })).toBe(1);
      expect(moved('opencourse_rate_limit_refusals_total', { limit: 'login' })).toBe(1);
      expect(moved('opencourse_rate_limit_refusals_total', { limit: 'general' })).toBe(0);
      expect(
        moved(`${DURATION}_count`, {
          operation_id: 'loginUser',
          http_request_method: 'POST',
          http_response_status_class: '4xx',
        }),
      ).toBe(7);
    });

    it('counts enrollments by result', async () => {
      const open = await course({ capacity: 1 });
      const draft = await course({ status: 'draft' });
      const other = await createUser(t());
      const admin = await createUser(t(), { role: 'admin' });
      const before = await metrics.scrape();
      const enroll = (id: string, as: TestUser) =>
        api().post(`${COURSES}/${id}/enroll`).set(bearer(as));
      expect((await enroll(open, student)).status).toBe(201);
      expect((await enroll(open, student)).status).toBe(200);
      expect((await enroll(open, other)).status).toBe(409);
      expect((await enroll(draft, admin)).status).toBe(409);
      expect((await enroll(draft, student)).status).toBe(404);
      expect((await enroll(open, instructor)).status).toBe(403);
      const after = await metrics.scrape();

      const moved = (result: string) =>
        (after.value('opencourse_enrollments_total', { result }) ?? 0) -
        (before.value('opencourse_enrollments_total', { result }) ?? 0);
      expect(moved('created')).toBe(1);
      expect(moved('already_enrolled')).toBe(1);
      expect(moved('course_full')).toBe(1);
      expect(moved('course_not_published')).toBe(1);
      expect(moved('not_found')).toBe(1);
      expect(moved('forbidden')).toBe(1);
    });

    it('counts a lesson completed once, however often it is marked', async () => {
      const id = await course();
      const section = await api()
        .post(`${COURSES}/${id}/sections`)
        .set(bearer(instructor))
        .send({ title: 'One' });
      expect(section.status).toBe(201);
      const lesson = await api()
        .post(`${COURSES}/${id}/sections/${section.body.id}/lessons`)
        .set(bearer(instructor))
        .send({ title: 'First', kind: 'text', status: 'published' });
      expect(lesson.status).toBe(201);
      const learner = await createUser(t());
      expect((await api().post(`${COURSES}/${id}/enroll`).set(bearer(learner))).status).toBe(201);

      const before = await metrics.scrape();
      const complete = () =>
        api().put(`${COURSES}/${id}/lessons/${lesson.body.id}/completion`).set(bearer(learner));
      expect((await complete()).status).toBe(200);
      expect((await complete()).status).toBe(200);
      const after = await metrics.scrape();
      expect(
        (after.value('opencourse_lesson_completions_total') ?? 0) -
          (before.value('opencourse_lesson_completions_total') ?? 0),
      ).toBe(1);
    });

    it('counts emails sent', async () => {
      const before = await metrics.scrape();
      const email = uniqueEmail();
      const since = smtp().mails.length;
      const res = await api()
        .post('/api/v1/auth/register')
        .send({ email, password: PASSWORD, name: 'Mailed' });
      expect(res.status).toBe(201);
      await smtp().waitFor(email, since);
      await t().services.mailer.idle();
      const after = await metrics.scrape();
      const moved = (result: string) =>
        (after.value('opencourse_emails_total', { result }) ?? 0) -
        (before.value('opencourse_emails_total', { result }) ?? 0);
      expect(moved('sent')).toBe(1);
      expect(moved('failed')).toBe(0);
    });

    it('gives unknown paths and methods one series, whatever the URL', async () => {
      const unknown = {
        operation_id: 'unknown',
        http_request_method: 'GET',
        http_response_status_class: '4xx',
      };
      expect((await api().get(`/${randomUUID()}`)).status).toBe(404);
      expect((await api().purge(`/${randomUUID()}`)).status).toBe(404);
      const before = await metrics.scrape();
      const seriesOf = (samples: Sample[]) =>
        samples.filter((s) => s.name === `${DURATION}_count`).length;

      const tokens = Array.from({ length: 50 }, () => randomUUID());
      const paths = tokens.map((token, i) =>
        i % 2 === 0 ? `/${token}/x?q=${token}` : `/api/v1/${token}`,
      );
      for (const path of paths) expect((await api().get(path)).status).toBe(404);
      for (const path of paths.slice(0, 5)) {
        expect((await api().purge(path)).status).toBe(404);
      }
      const after = await metrics.scrape();

      expect(seriesOf(after.samples)).toBe(seriesOf(before.samples));
      expect(after.value(`${DURATION}_count`, unknown)).toBe(
        (before.value(`${DURATION}_count`, unknown) ?? 0) + 50,
      );
      expect(after.value(`${DURATION}_count`, { ...unknown, http_request_method: '_OTHER' })).toBe(
        (before.value(`${DURATION}_count`, { ...unknown, http_request_method: '_OTHER' }) ?? 0) + 5,
      );
      for (const token of tokens) expect(after.text).not.toContain(token);
    });

    it('reads the pools at each scrape on PostgreSQL, and has none on SQLite', async () => {
      const { pool } = t().database;
      const { value } = await metrics.scrape();
      const main = { pool: 'main' };
      const counters = { pool: 'counters' };
      if (!pool) {
        expect(value('opencourse_db_pool_connections', main)).toBeUndefined();
        expect(value('opencourse_db_pool_waiting_clients', counters)).toBeUndefined();
        return;
      }
      expect(value('opencourse_db_pool_max_connections', main)).toBe(10);
      expect(value('opencourse_db_pool_max_connections', counters)).toBe(4);
      expect(value('opencourse_db_pool_connections', main)).toBeGreaterThanOrEqual(1);
      expect(value('opencourse_db_pool_waiting_clients', main)).toBe(0);

      // Every connection busy and more queries queued behind them: the gauges show it.
      const sleeping = Array.from({ length: 13 }, () => pool.query('SELECT pg_sleep(0.5)'));
      await new Promise((resolve) => setTimeout(resolve, 150));
      const busy = await metrics.scrape();
      expect(busy.value('opencourse_db_pool_connections', main)).toBe(10);
      expect(busy.value('opencourse_db_pool_idle_connections', main)).toBe(0);
      expect(busy.value('opencourse_db_pool_waiting_clients', main)).toBeGreaterThanOrEqual(3);
      // The counters' pool is apart: a login's counts do not wait behind the busy main pool.
      expect(busy.value('opencourse_db_pool_waiting_clients', counters)).toBe(0);
      await Promise.all(sleeping);
      const rested = await metrics.scrape();
      expect(rested.value('opencourse_db_pool_waiting_clients', main)).toBe(0);
      expect(rested.value('opencourse_db_pool_idle_connections', main)).toBe(
        rested.value('opencourse_db_pool_connections', main),
      );

      // A login attempt is counted on the counters' pool.
      await api()
        .post('/api/v1/auth/login')
        .send({ email: `nobody-${randomUUID()}@example.com`, password: 'not the password' })
        .expect(401);
      const counted = await metrics.scrape();
      expect(counted.value('opencourse_db_pool_connections', counters)).toBeGreaterThanOrEqual(1);
    });
  },
  env,
);

describeEachDatabase(
  'metrics of the general and sensitive limits',
  (t) => {
    const metrics = metricsOf(t);
    const api = () => t().request();

    it('counts requests refused by each limit, under the operation they were refused for', async () => {
      const before = await metrics.scrape();
      const register = () =>
        api()
          .post('/api/v1/auth/register')
          .send({ email: uniqueEmail(), password: PASSWORD, name: 'R' });
      expect((await register()).status).toBe(201);
      expect((await register()).status).toBe(429); // RATE_LIMIT_SENSITIVE_PER_HOUR
      expect((await api().get(COURSES)).status).toBe(200);
      expect((await api().get(COURSES)).status).toBe(429); // RATE_LIMIT_PER_MINUTE
      await t().services.mailer.idle();
      const after = await metrics.scrape();

      const moved = (name: string, labels: Record<string, string>) =>
        (after.value(name, labels) ?? 0) - (before.value(name, labels) ?? 0);
      expect(moved('opencourse_rate_limit_refusals_total', { limit: 'sensitive' })).toBe(1);
      expect(moved('opencourse_rate_limit_refusals_total', { limit: 'general' })).toBe(1);
      // Refused before the validator ran, and still named after their operation.
      const refused = { http_request_method: 'POST', http_response_status_class: '4xx' };
      expect(moved(`${DURATION}_count`, { ...refused, operation_id: 'registerUser' })).toBe(1);
      expect(
        moved(`${DURATION}_count`, {
          operation_id: 'listCourses',
          http_request_method: 'GET',
          http_response_status_class: '4xx',
        }),
      ).toBe(1);
      // No SMTP_URL here: the one verification email went to the log.
      expect(moved('opencourse_emails_total', { result: 'logged' })).toBe(1);
    });
  },
  { RATE_LIMIT_PER_MINUTE: '3', RATE_LIMIT_SENSITIVE_PER_HOUR: '1' },
);
