import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type pg from 'pg';
import type { Database } from '../data/database';
import { HttpProblem } from '../errors';
import { logger } from '../logger';

/** Request durations in seconds: 1 ms resolution at the fast end, up to 10 s at the slow one. */
export const DURATION_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Every limit that can refuse something, as `opencourse_rate_limit_refusals_total` names it. */
export const LIMIT_NAMES = [
  'general',
  'sensitive',
  'login',
  'login_daily',
  'password_change',
  'email_recipient',
] as const;
export type LimitName = (typeof LIMIT_NAMES)[number];

/** Label values that exist from the start at zero, so that rates work from the first event. */
const LOGIN_OUTCOMES = [
  'success',
  'invalid_credentials',
  'email_not_verified',
  'rate_limited',
  'service_unavailable',
];
const ENROLLMENT_RESULTS = ['created', 'already_enrolled', 'course_full', 'course_not_published'];
const EMAIL_RESULTS = ['sent', 'failed', 'logged'];
/** How a webhook delivery attempt ended: sent, to be tried again, or given up. */
export const WEBHOOK_OUTCOMES = ['delivered', 'retrying', 'failed'] as const;
export type WebhookOutcome = (typeof WEBHOOK_OUTCOMES)[number];

/**
 * A failure's label value: the problem's kind (a fixed set, each listed in the document) or
 * `error` for anything else. Never a message, which may carry user input.
 */
export function outcomeOf(err: unknown): string {
  return err instanceof HttpProblem ? err.kind.replaceAll('-', '_') : 'error';
}

/** Awaits `work` and records how it ended: `success(result)`, or the failure's `outcomeOf`. */
export async function recordOutcome<T>(
  record: (outcome: string) => void,
  success: (result: T) => string,
  work: Promise<T>,
): Promise<T> {
  let result: T;
  try {
    result = await work;
  } catch (err) {
    record(outcomeOf(err));
    throw err;
  }
  record(success(result));
  return result;
}

let processRegistry: Registry | undefined;

/**
 * The process's own metrics (CPU, memory, handles, GC, event-loop delay), collected once per
 * process however many services instances it holds: each `collectDefaultMetrics` call starts an
 * event-loop delay monitor and a GC observer that are never stopped, so one per instance would
 * pile up in a test process, and they would all describe the same process anyway.
 */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/**
 * One registry per services instance, with the instruments the layers record into: the HTTP layer
 * the request durations, the services their domain counters. On PostgreSQL the pools' gauges are
 * read at each scrape; SQLite has no pool, so they are absent there.
 */
export function createMetrics(database?: Pick<Database, 'pool' | 'counterPool'>) {
  const registry = new Registry();
  const registers = [registry];

  // Named after OpenTelemetry's http.server.request.duration, with its label names where it has
  // one; the status is its class (2xx...) and the operation is the document's operationId.
  const requestDuration = new Histogram({
    name: 'http_server_request_duration_seconds',
    help: 'Duration of HTTP requests served by the API, by operation, method and status class.',
    labelNames: ['operation_id', 'http_request_method', 'http_response_status_class'] as const,
    buckets: DURATION_BUCKETS,
    registers,
  });
  const logins = new Counter({
    name: 'opencourse_logins_total',
    help: 'Login attempts by outcome (success, or the kind of problem answered).',
    labelNames: ['outcome'] as const,
    registers,
  });
  const limitRefusals = new Counter({
    name: 'opencourse_rate_limit_refusals_total',
    help: 'Requests (or emails, for email_recipient) refused by each rate limit.',
    labelNames: ['limit'] as const,
    registers,
  });
  const enrollments = new Counter({
    name: 'opencourse_enrollments_total',
    help: 'Enrollment requests by result (created, already_enrolled, or the kind of problem).',
    labelNames: ['result'] as const,
    registers,
  });
  const lessonCompletions = new Counter({
    name: 'opencourse_lesson_completions_total',
    help: 'Lessons marked complete for the first time (repeated calls are not counted).',
    registers,
  });
  const emails = new Counter({
    name: 'opencourse_emails_total',
    help: 'Emails by result: sent, failed, or logged (no SMTP_URL, development only).',
    labelNames: ['result'] as const,
    registers,
  });
  const webhookDeliveries = new Counter({
    name: 'opencourse_webhook_deliveries_total',
    help: 'Webhook delivery attempts by outcome: delivered, retrying (will be tried again), failed.',
    labelNames: ['outcome'] as const,
    registers,
  });
  for (const outcome of LOGIN_OUTCOMES) logins.inc({ outcome }, 0);
  for (const outcome of WEBHOOK_OUTCOMES) webhookDeliveries.inc({ outcome }, 0);
  for (const limit of LIMIT_NAMES) limitRefusals.inc({ limit }, 0);
  for (const result of ENROLLMENT_RESULTS) enrollments.inc({ result }, 0);
  for (const result of EMAIL_RESULTS) emails.inc({ result }, 0);

  // Each PostgreSQL pool by name: the main one, and the limits' counters' (database.ts).
  const pools = Object.entries({ main: database?.pool, counters: database?.counterPool }).filter(
    (entry): entry is [string, pg.Pool] => entry[1] !== undefined,
  );
  if (pools.length > 0) {
    const poolGauge = (name: string, help: string, read: (pool: pg.Pool) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['pool'],
        registers,
        collect() {
          for (const [label, pool] of pools) this.set({ pool: label }, read(pool));
        },
      });
    poolGauge(
      'opencourse_db_pool_connections',
      'Connections a PostgreSQL pool holds, busy or idle.',
      (pool) => pool.totalCount,
    );
    poolGauge(
      'opencourse_db_pool_idle_connections',
      'Connections of a PostgreSQL pool waiting for work.',
      (pool) => pool.idleCount,
    );
    poolGauge(
      'opencourse_db_pool_waiting_clients',
      'Queries waiting for a connection because every connection of the pool is busy.',
      (pool) => pool.waitingCount,
    );
    poolGauge(
      'opencourse_db_pool_max_connections',
      'The most connections a PostgreSQL pool opens.',
      (pool) => pool.options.max ?? 10,
    );
  }

  const shared = processMetrics();
  return {
    registry,
    requestDuration,
    logins,
    limitRefusals,
    enrollments,
    lessonCompletions,
    emails,
    webhookDeliveries,
    contentType: registry.contentType,
    /** The exposition text: this instance's metrics, then the process's. */
    async scrape(): Promise<string> {
      const [own, processWide] = await Promise.all([registry.metrics(), shared.metrics()]);
      return own + processWide;
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

const PLAIN = { 'Content-Type': 'text/plain; charset=utf-8' };

/**
 * Serves `GET /metrics` on a listener of its own (never the API's port, so the API's clients
 * cannot read it), and nothing else. Resolves once listening; rejects when it cannot listen.
 */
export function serveMetrics(metrics: Metrics, port: number, host: string): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404, PLAIN).end('Not found: the metrics are at /metrics.\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...PLAIN, Allow: 'GET, HEAD' }).end('Only GET reads the metrics.\n');
      return;
    }
    metrics.scrape().then(
      (text) => res.writeHead(200, { 'Content-Type': metrics.contentType }).end(text),
      (err: unknown) => {
        logger.error(`metrics could not be collected: ${String(err)}`);
        res.writeHead(500, PLAIN).end('The metrics could not be collected.\n');
      },
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      server.on('error', (err) => logger.error(`metrics listener: ${err.message}`));
      resolve(server);
    });
  });
}
