import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { DIALECTS, createTestDatabase, type TestDatabase } from '../helpers/databases';
import { spawnServer, type ServerProcess } from '../helpers/server-process';
import {
  SERVER,
  attribute,
  descendsFrom,
  startOtlpReceiver,
  type ReceivedSpan,
} from '../helpers/otlp';

// Jest's module loader bypasses the require hooks the instrumentations patch http, express and pg
// with, so traces are tested on the server process as an operator runs it, sending to a real
// OTLP/HTTP receiver on loopback.
const ROOT = path.resolve(__dirname, '../..');
const ADMIN = { email: 'admin@example.com', password: 'an-admin-password-long-enough' };
const ENROLL_ROUTE = '/api/v1/courses/{courseId}/enroll';

interface Running extends ServerProcess {
  /** The JSON lines written to stdout so far. */
  lines: () => Record<string, unknown>[];
}

function start(env: Record<string, string>): Running {
  const server = spawnServer({
    LOG_LEVEL: 'info',
    JWT_SECRET: 'test-secret-that-is-at-least-32-bytes-long!',
    RATE_LIMIT_PER_MINUTE: '0',
    RATE_LIMIT_SENSITIVE_PER_HOUR: '0',
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    // Set, even empty, so that a developer's .env cannot turn tracing on or off under a test.
    OTEL_EXPORTER_OTLP_ENDPOINT: '',
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '',
    ...env,
  });
  const lines = () =>
    server
      .stdout()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { ...server, lines };
}

async function ready(server: Running): Promise<void> {
  // A server compiled by tsx on a loaded CI machine can take half a minute to start.
  const deadline = Date.now() + 50_000;
  while (Date.now() < deadline) {
    const ok = await fetch(`${server.base}/health/ready`).then(
      (res) => res.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the server did not become ready: ${server.stderr()}`);
}

/** The log lines of one request, once its access line (written as the answer ends) is out. */
async function linesOf(server: Running, requestId: string): Promise<Record<string, unknown>[]> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const lines = server.lines().filter((line) => line.requestId === requestId);
    if (lines.some((line) => typeof line.status === 'number')) return lines;
    if (Date.now() > deadline) throw new Error(`no access line for ${requestId}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function stop(server: Running): Promise<number | null> {
  server.child.kill('SIGTERM');
  return server.exited;
}

async function call(
  server: Running,
  method: string,
  url: string,
  options: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${server.base}${url}`, {
    method,
    headers: { 'content-type': 'application/json', ...options.headers },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function tokenOf(server: Running, credentials: { email: string; password: string }) {
  const login = await call(server, 'POST', '/api/v1/auth/login', { body: credentials });
  expect(login.status).toBe(200);
  return String(login.body.accessToken);
}

/** A published course (the first admin's) and a student's token, both made through the API. */
async function courseAndStudent(server: Running): Promise<{ courseId: string; token: string }> {
  const admin = await tokenOf(server, ADMIN);
  const course = await call(server, 'POST', '/api/v1/courses', {
    body: { title: 'Traced', status: 'published' },
    headers: { authorization: `Bearer ${admin}` },
  });
  expect(course.status).toBe(201);
  const student = { email: `student-${randomUUID()}@example.com`, password: 'a-student-password' };
  const registered = await call(server, 'POST', '/api/v1/auth/register', {
    body: { ...student, name: 'Ada' },
  });
  expect(registered.status).toBe(201);
  return { courseId: String(course.body.id), token: await tokenOf(server, student) };
}

/** A W3C traceparent of a caller's sampled span, and its ids. */
function callerSpan() {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}

const serverSpanOf = (spans: ReceivedSpan[], traceId: string) =>
  spans.find((s) => s.traceId === traceId && s.kind === SERVER);

describe.each(DIALECTS)('traces sent over OTLP [%s]', (dialect) => {
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
  let database: TestDatabase;
  let server: Running;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    database = await createTestDatabase(dialect);
    server = start({
      DATABASE_URL: database.url,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: '50',
    });
    await ready(server);
  }, 60_000);
  afterAll(async () => {
    if (server) expect(await stop(server)).toBe(0);
    await receiver?.stop();
    await database?.drop();
  });

  it('continue the caller’s trace: the enroll span named by its route, its queries its children, its ids on its log lines', async () => {
    const { courseId, token } = await courseAndStudent(server);
    const caller = callerSpan();
    const requestId = `enroll-${randomUUID()}`;
    const enrolled = await call(server, 'POST', `/api/v1/courses/${courseId}/enroll`, {
      headers: {
        authorization: `Bearer ${token}`,
        traceparent: caller.traceparent,
        'x-request-id': requestId,
      },
    });
    expect(enrolled.status).toBe(201);

    const spans = await receiver.waitFor((all) => !!serverSpanOf(all, caller.traceId));
    const request = serverSpanOf(spans, caller.traceId)!;
    expect(request).toMatchObject({
      name: `POST ${ENROLL_ROUTE}`,
      parentSpanId: caller.spanId,
      scope: '@opentelemetry/instrumentation-http',
    });
    expect(attribute(request, 'http.route')).toBe(ENROLL_ROUTE);
    expect(attribute(request, 'http.response.status_code')).toBe(201);
    expect(attribute(request, 'url.path')).toBe(`/api/v1/courses/${courseId}/enroll`);

    const trace = spans.filter((s) => s.traceId === caller.traceId);
    const queries = trace.filter((s) => s.scope === '@opentelemetry/instrumentation-pg');
    if (dialect === 'postgresql') {
      // The enrollment's transaction: the lock, the reads, the insert and the count, committed.
      const names = queries.map((s) => s.name).join('\n');
      for (const statement of ['BEGIN', 'INSERT', 'UPDATE', 'COMMIT']) {
        expect(names).toContain(statement);
      }
      for (const query of queries) {
        expect(descendsFrom(query, request.spanId, trace)).toBe(true);
        expect(BigInt(query.startTimeUnixNano)).toBeGreaterThanOrEqual(
          BigInt(request.startTimeUnixNano),
        );
      }
    } else {
      expect(queries).toEqual([]); // the SQLite client has no instrumentation
    }
    // Middleware spans are left out: none sits between the request and its queries.
    expect(trace.filter((s) => s.scope === '@opentelemetry/instrumentation-express')).toEqual([]);

    const lines = await linesOf(server, requestId);
    for (const line of lines) {
      expect(line).toMatchObject({ traceId: caller.traceId, spanId: request.spanId });
    }
    // Nothing but traces goes to the collector: metrics are Prometheus's, logs stdout's.
    expect(receiver.others).toEqual([]);
  });

  it('name a refused request by its route too, and one that matched no route by its method alone', async () => {
    const refused = callerSpan();
    const unknown = callerSpan();
    // Refused by the validator's security check: no handler ran, the route was matched all the same.
    const bad = await call(server, 'POST', `/api/v1/courses/${randomUUID()}/enroll`, {
      headers: { traceparent: refused.traceparent },
    });
    expect(bad.status).toBe(401);
    const missing = await call(server, 'GET', `/api/v1/no-such-thing/${randomUUID()}`, {
      headers: { traceparent: unknown.traceparent },
    });
    expect(missing.status).toBe(404);

    const spans = await receiver.waitFor(
      (all) => !!serverSpanOf(all, refused.traceId) && !!serverSpanOf(all, unknown.traceId),
    );
    const refusedSpan = serverSpanOf(spans, refused.traceId)!;
    expect(refusedSpan.name).toBe(`POST ${ENROLL_ROUTE}`);
    expect(attribute(refusedSpan, 'http.route')).toBe(ENROLL_ROUTE);
    const unknownSpan = serverSpanOf(spans, unknown.traceId)!;
    expect(unknownSpan.name).toBe('GET');
    expect(attribute(unknownSpan, 'http.route')).toBeUndefined();
  });

  it('start a trace of their own for a request that brings none, its id on the access log', async () => {
    const requestId = `live-${randomUUID()}`;
    const live = await call(server, 'GET', '/health/live', {
      headers: { 'x-request-id': requestId },
    });
    expect(live.status).toBe(200);
    const [line] = await linesOf(server, requestId);
    expect(line?.traceId).toMatch(/^[0-9a-f]{32}$/);
    const spans = await receiver.waitFor((all) => !!serverSpanOf(all, String(line!.traceId)));
    const span = serverSpanOf(spans, String(line!.traceId))!;
    expect(span).toMatchObject({ name: 'GET /health/live', spanId: line!.spanId });
    expect(span.parentSpanId ?? '').toBe('');
  });
});

describe('traces, off and at the end', () => {
  it('are sent, when buffered at SIGTERM, before the process exits', async () => {
    const receiver = await startOtlpReceiver();
    const database = await createTestDatabase('sqlite');
    // A schedule far longer than the test: only the flush at SIGTERM can send the span.
    const server = start({
      DATABASE_URL: database.url,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: '600000',
    });
    try {
      await ready(server);
      const caller = callerSpan();
      await call(server, 'GET', '/health/live', { headers: { traceparent: caller.traceparent } });
      expect(receiver.spans.filter((s) => s.traceId === caller.traceId)).toEqual([]);
      expect(await stop(server)).toBe(0);
      expect(serverSpanOf(receiver.spans, caller.traceId)?.name).toBe('GET /health/live');
    } finally {
      server.child.kill('SIGKILL');
      await receiver.stop();
      await database.drop();
    }
  }, 60_000);

  it('are not started when OTEL_SDK_DISABLED=true, endpoint or not: no trace ids logged, nothing sent', async () => {
    const receiver = await startOtlpReceiver();
    const database = await createTestDatabase('sqlite');
    const server = start({
      DATABASE_URL: database.url,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_SDK_DISABLED: 'true',
      OTEL_BSP_SCHEDULE_DELAY: '50',
    });
    try {
      await ready(server);
      const requestId = `off-${randomUUID()}`;
      const live = await call(server, 'GET', '/health/live', {
        headers: { traceparent: callerSpan().traceparent, 'x-request-id': requestId },
      });
      expect(live.status).toBe(200);
      const lines = await linesOf(server, requestId);
      expect(lines.length).toBe(1);
      expect(lines[0]).not.toHaveProperty('traceId');
      expect(lines[0]).not.toHaveProperty('spanId');
      expect(await stop(server)).toBe(0);
      expect(receiver.spans).toEqual([]);
      expect(receiver.others).toEqual([]);
    } finally {
      server.child.kill('SIGKILL');
      await receiver.stop();
      await database.drop();
    }
  }, 60_000);

  it('refuse an endpoint that is not an http(s) URL, with one line naming it', async () => {
    const server = start({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' });
    expect(await server.exited).toBe(1);
    expect(server.stderr()).toBe(
      'Configuration error: OTEL_EXPORTER_OTLP_ENDPOINT: must be an http(s) URL, got "collector:4318"\n',
    );
  });

  it('cost nothing when off: without an endpoint, not one OpenTelemetry module is loaded', async () => {
    const loaded = async (env: Record<string, string>) => {
      const script =
        "require('./src/observability/tracing');" +
        "process.stdout.write(String(Object.keys(require.cache).filter((k) => k.includes('@opentelemetry')).length))";
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ['--import', 'tsx', '-e', script],
        {
          cwd: ROOT,
          env: {
            PATH: process.env.PATH ?? '',
            OTEL_EXPORTER_OTLP_ENDPOINT: '',
            OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '',
            ...env,
          },
        },
      );
      return Number(stdout);
    };
    expect(await loaded({})).toBe(0);
    expect(await loaded({ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' })).toBe(0);
    expect(
      await loaded({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1',
        OTEL_SDK_DISABLED: 'true',
      }),
    ).toBe(0);
    // The check sees the SDK when it is there: the traces-only endpoint turns tracing on too.
    expect(
      await loaded({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:1/v1/traces' }),
    ).toBeGreaterThan(0);
  });
});
