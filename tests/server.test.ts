import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { DIALECTS, createTestDatabase } from './helpers/databases';
import { spawnServer } from './helpers/server-process';

// The process as an operator runs it: configuration at start, readiness, and SIGTERM.
const onPostgres = DIALECTS.includes('postgresql') ? it : it.skip;

const start = spawnServer;

/** A POST on a connection of its own, so none is an idle keep-alive one that closing drops. */
function post(url: string, body: unknown, sent?: () => void): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      agent: false,
      headers: { 'content-type': 'application/json' },
    });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.on('finish', () => sent?.());
    req.end(JSON.stringify(body));
  });
}

async function until(check: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('timed out');
}

describe('the server process', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'opencourse-server-'));
  let afterDrop: (() => Promise<void>) | undefined;
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await afterDrop?.();
  });

  it('refuses a bad variable with one line naming it, and exits 1', async () => {
    const server = start({ PORT: 'eighty' });
    expect(await server.exited).toBe(1);
    expect(server.output()).toBe(
      'Configuration error: PORT: must be a whole number, got "eighty"\n',
    );
  });

  it('drains requests in flight on SIGTERM, then exits 0', async () => {
    const server = start({ DATABASE_URL: `file:${path.join(dir, 'drain.db')}` });
    await until(async () => (await fetch(`${server.base}/health/ready`)).ok);
    // One login first: the validator compiles a route's schemas on its first request, and a
    // request not yet read when SIGTERM comes is, to Node, an idle connection to close.
    expect(await post(`${server.base}/api/v1/auth/login`, { email: 'a@b.co', password: 'x' })).toBe(
      401,
    );
    // Logins are slow on purpose (argon2id), so these are still being handled at SIGTERM.
    let sent = 0;
    const logins = Array.from({ length: 12 }, (_, i) =>
      post(
        `${server.base}/api/v1/auth/login`,
        { email: `nobody${i}@example.com`, password: 'wrong-password-1' },
        () => sent++,
      ),
    );
    // Every request written, and a first answer: the server has read the batch and is hashing.
    await until(async () => sent === 12, 5_000);
    await Promise.race(logins);
    server.child.kill('SIGTERM');
    expect(await Promise.all(logins)).toEqual(Array(12).fill(401));
    expect(await server.exited).toBe(0);
    expect(server.output()).not.toMatch(/"level":"error"/);
  });

  onPostgres('lets handlers finish on SIGTERM even when their clients have hung up', async () => {
    // On PostgreSQL a successful login writes its session after the slow hash.
    const database = await createTestDatabase('postgresql');
    afterDrop = database.drop;
    const server = start({ DATABASE_URL: database.url, RATE_LIMIT_SENSITIVE_PER_HOUR: '0' });
    await until(async () => (await fetch(`${server.base}/health/ready`)).ok);
    // One account per login: concurrent attempts on one account would meet its login limit.
    const accounts = Array.from({ length: 16 }, (_, i) => ({
      email: `drain${i}@example.com`,
      password: 'a-long-enough-password',
    }));
    for (const account of accounts) {
      expect(await post(`${server.base}/api/v1/auth/register`, { ...account, name: 'D' })).toBe(
        201,
      );
    }
    const [firstAccount, ...others] = accounts;
    const first = post(`${server.base}/api/v1/auth/login`, firstAccount);
    const pending = others.map((account) => {
      const req = request(`${server.base}/api/v1/auth/login`, {
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json' },
      });
      req.on('error', () => undefined);
      req.end(JSON.stringify(account));
      return req;
    });
    expect(await first).toBe(200);
    // Every client hangs up, so the server's sockets close at once; its handlers must still
    // finish, and what they write must persist, before the pool closes and the process exits.
    for (const req of pending) req.destroy();
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(server.output()).not.toMatch(/"level":"error"/);
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const { rows } = await client.query('SELECT count(*)::int AS n FROM sessions');
    await client.end();
    expect(rows[0].n).toBe(16);
  });

  it('serves metrics on METRICS_PORT only, until SIGTERM', async () => {
    const metricsPort = String(40_000 + Math.floor(Math.random() * 20_000));
    const server = start({
      DATABASE_URL: `file:${path.join(dir, 'metrics.db')}`,
      METRICS_PORT: metricsPort,
    });
    const metrics = `http://127.0.0.1:${metricsPort}/metrics`;
    await until(async () => (await fetch(`${server.base}/health/ready`)).ok);
    expect((await fetch(`${server.base}/api/v1/courses`)).status).toBe(200);
    const scraped = await fetch(metrics);
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toMatch(
      /^http_server_request_duration_seconds_count\{operation_id="listCourses",http_request_method="GET",http_response_status_class="2xx"\} 1$/m,
    );
    expect((await fetch(`${server.base}/metrics`)).status).toBe(404);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    await expect(fetch(metrics)).rejects.toThrow();
  });

  it('stops with one line when METRICS_PORT is taken', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      const server = start({
        DATABASE_URL: `file:${path.join(dir, 'taken.db')}`,
        METRICS_PORT: String(port),
      });
      expect(await server.exited).toBe(1);
      expect(server.output()).toMatch(
        new RegExp(`^Metrics unavailable \\(METRICS_PORT\\): listen EADDRINUSE.*:${port}$`, 'm'),
      );
    } finally {
      taken.close();
    }
  });

  it('serves 503 on readiness while the database is down at start, and stays live', async () => {
    const server = start({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nowhere' });
    try {
      await until(async () => (await fetch(`${server.base}/health/live`)).ok);
      const ready = await fetch(`${server.base}/health/ready`);
      expect(ready.status).toBe(503);
      expect(ready.headers.get('retry-after')).toBe('5');
      expect((await fetch(`${server.base}/api/v1/courses`)).status).toBe(503);
      expect((await fetch(`${server.base}/API/V1/Courses`)).status).toBe(503);
      // The document and its page need no database.
      expect((await fetch(`${server.base}/api/v1/openapi.json`)).status).toBe(200);
      expect((await fetch(`${server.base}/docs`)).status).toBe(200);
      expect(server.output()).toMatch(/database not ready \(connect ECONNREFUSED/);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });
});
