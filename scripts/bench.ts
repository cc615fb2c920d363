// Latency of the main paths, measured against the built server as a separate process on a fresh
// PostgreSQL database seeded with BENCH_COURSES courses (default 100,000).
// Usage: npm run bench            (builds first; needs PostgreSQL, see TEST_PG_URL)
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';

const ADMIN_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const COURSES = process.env.BENCH_COURSES ?? '100000';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const PORT = 3000 + Math.floor(Math.random() * 1000) + 2000;
const BASE = `http://127.0.0.1:${PORT}`;
const ROOT = path.resolve(__dirname, '..');
const ADMIN = { email: 'bench-admin@example.com', password: 'bench-admin-password' };

async function admin(sql: string) {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  await client.query(sql);
  await client.end();
}

async function call(method: string, url: string, body?: unknown, token?: string) {
  const res = await fetch(BASE + url, {
    method,
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 400) throw new Error(`${method} ${url}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

async function waitReady() {
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(`${BASE}/health/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the server did not become ready');
}

interface Scenario {
  name: string;
  connections?: number;
  method?: 'GET' | 'POST';
  path: string;
  token?: string;
  body?: unknown;
}

async function run(s: Scenario) {
  const result = await autocannon({
    url: BASE + s.path,
    method: s.method ?? 'GET',
    connections: s.connections ?? CONNECTIONS,
    duration: SECONDS,
    headers: {
      'content-type': 'application/json',
      ...(s.token ? { authorization: `Bearer ${s.token}` } : {}),
    },
    body: s.body === undefined ? undefined : JSON.stringify(s.body),
  });
  const l = result.latency;
  const name = s.connections ? `${s.name}, ${s.connections} connection` : s.name;
  return `| ${name} | ${Math.round(result.requests.average)} | ${l.p50} | ${l.p90} | ${l.p99} | ${l.max} | ${result.non2xx} |`;
}

async function main() {
  const name = `opencourse_bench_${randomUUID().slice(0, 8)}`;
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const env = {
    ...process.env,
    DATABASE_URL: url.toString(),
    PORT: String(PORT),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    JWT_SECRET: 'bench-secret-that-is-at-least-32-bytes!',
    // The per-address limit stays on (as in production) but high enough never to refuse: its
    // PostgreSQL round trip is part of every figure.
    RATE_LIMIT_PER_MINUTE: '1000000',
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
  };
  const server = spawn('node', ['dist/server.js'], { cwd: ROOT, env, stdio: 'inherit' });
  try {
    await waitReady();
    console.log(`seeding ${COURSES} courses...`);
    const seeded = spawnSync('npx', ['tsx', 'scripts/seed.ts', '--courses', COURSES], {
      cwd: ROOT,
      env,
      stdio: 'inherit',
    });
    if (seeded.status !== 0) throw new Error('seeding failed');

    const adminToken = (await call('POST', '/api/v1/auth/login', ADMIN)).accessToken as string;
    const course = await call(
      'POST',
      '/api/v1/courses',
      { title: 'Benchmarking 101', status: 'published' },
      adminToken,
    );
    const student = { email: 'bench-student@example.com', password: 'bench-student-password' };
    await call('POST', '/api/v1/auth/register', { ...student, name: 'Bench Student' });
    const studentToken = (await call('POST', '/api/v1/auth/login', student)).accessToken as string;
    await call('POST', `/api/v1/courses/${course.id}/enroll`, undefined, studentToken);
    const firstPage = await call('GET', '/api/v1/courses?limit=100');
    let deep = firstPage.nextCursor as string;
    for (let i = 0; i < 20 && deep; i++) {
      deep = (await call('GET', `/api/v1/courses?limit=100&cursor=${deep}`)).nextCursor;
    }

    const scenarios: Scenario[] = [
      { name: 'GET /health/ready', path: '/health/ready' },
      { name: 'GET /api/v1/courses (first page)', path: '/api/v1/courses' },
      {
        name: 'GET /api/v1/courses (page 21 of 100)',
        path: `/api/v1/courses?limit=100&cursor=${deep}`,
      },
      { name: 'GET /api/v1/courses?sort=title', path: '/api/v1/courses?sort=title' },
      { name: 'GET /api/v1/courses?q=data', path: '/api/v1/courses?q=data' },
      { name: 'GET /api/v1/courses/{id}', path: `/api/v1/courses/${course.id}` },
      { name: 'GET /api/v1/users/me (bearer)', path: '/api/v1/users/me', token: studentToken },
      {
        name: 'POST /api/v1/courses/{id}/enroll (again)',
        method: 'POST',
        path: `/api/v1/courses/${course.id}/enroll`,
        token: studentToken,
      },
      {
        name: 'POST /api/v1/auth/login (argon2id)',
        method: 'POST',
        path: '/api/v1/auth/login',
        body: student,
        connections: 1,
      },
      {
        name: 'POST /api/v1/auth/login (argon2id)',
        method: 'POST',
        path: '/api/v1/auth/login',
        body: student,
      },
    ];
    console.log(
      `\n${CONNECTIONS} connections, ${SECONDS} s each, PostgreSQL, ${COURSES} courses\n`,
    );
    console.log('| scenario | req/s | p50 ms | p90 ms | p99 ms | max ms | non-2xx |');
    console.log('| --- | --- | --- | --- | --- | --- | --- |');
    for (const s of scenarios) console.log(await run(s));
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}

main().catch((err: Error) => {
  console.error(`bench failed: ${err.message}`);
  process.exit(1);
});
