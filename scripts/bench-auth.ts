// The per-request cost of authentication on PostgreSQL: N calls of services.auth.authenticate()
// (JWT verification + the one indexed session/user read). `npm run bench:auth [-- 2000]`.
// Uses BENCH_DATABASE_URL if set, otherwise a temporary database made through TEST_PG_URL (or
// postgres://postgres@127.0.0.1:5432/postgres) and dropped afterwards.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { loadConfig } from '../src/config';
import { openDatabase } from '../src/data/database';
import { logger } from '../src/logger';
import { createServices } from '../src/services';

const ADMIN_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function tempDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `opencourse_bench_${randomUUID().replace(/-/g, '')}`;
  const run = async (sql: string) => {
    const client = new pg.Client({ connectionString: ADMIN_URL });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await run(`CREATE DATABASE ${name}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

async function main() {
  const n = Number(process.argv[2] ?? 2000);
  logger.silent = true; // the registration email would otherwise be printed
  const temp = process.env.BENCH_DATABASE_URL ? undefined : await tempDatabase();
  const config = loadConfig({
    DATABASE_URL: process.env.BENCH_DATABASE_URL ?? temp!.url,
    JWT_SECRET: 'bench-secret-that-is-at-least-32-bytes-long',
    LOG_LEVEL: 'error',
  });
  const database = openDatabase(config.databaseUrl);
  const services = createServices(config, database);
  try {
    await database.migrate();
    const email = `bench-${randomUUID().slice(0, 8)}@example.com`;
    await services.auth.register({ email, password: 'benchmark passphrase', name: 'Bench' });
    const {
      tokens: { accessToken },
    } = await services.auth.login({ email, password: 'benchmark passphrase' }, 'bench');
    for (let i = 0; i < 100; i++) await services.auth.authenticate(accessToken); // warm the pool
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      const start = process.hrtime.bigint();
      await services.auth.authenticate(accessToken);
      times.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    times.sort((a, b) => a - b);
    const mean = times.reduce((a, b) => a + b, 0) / n;
    const p95 = times[Math.floor(n * 0.95)]!;
    console.log(
      `authenticate() on PostgreSQL: ${n} calls, mean ${mean.toFixed(3)} ms, p95 ${p95.toFixed(3)} ms`,
    );
  } finally {
    await services.close();
    await database.close();
    await temp?.drop();
  }
}

main().catch((err: Error) => {
  console.error(`bench-auth failed: ${err.message}`);
  process.exit(1);
});
