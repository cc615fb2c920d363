import path from 'node:path';
import { drizzle as drizzlePg, type NodePgQueryResultHKT } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import type { PgDatabase } from 'drizzle-orm/pg-core';
import pg from 'pg';
import * as pgSchema from './schema/pg';

export type Dialect = 'postgresql' | 'sqlite';
export type Tables = typeof pgSchema;

/**
 * The one query-builder type the data modules are written against. Both schemas have the same
 * tables and columns (tests/data/schema.test.ts proves it) and drizzle builds the same queries
 * for both, so the SQLite database is used through the PostgreSQL types; where the dialects
 * really differ (row locks), data modules branch on `dialect`.
 */
export type Db = PgDatabase<NodePgQueryResultHKT>;

export interface Database {
  dialect: Dialect;
  /** The DATABASE_URL it was opened with (a listener needs a connection of its own). */
  url: string;
  db: Db;
  t: Tables;
  /** Runs `fn` in a transaction. On SQLite every write must go through here (see below). */
  transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T>;
  /**
   * Runs `hook` once the transaction `tx` has committed (not at all if it rolls back); at once
   * when `tx` is not a transaction opened by `transaction` (the database itself, a savepoint).
   */
  afterCommit(tx: Db, hook: () => void): void;
  ping(): Promise<void>;
  migrate(): Promise<void>;
  close(): Promise<void>;
  /** The main PostgreSQL pool; undefined on SQLite. */
  pool?: pg.Pool;
  /**
   * A small PostgreSQL pool for rate-limit counters, whose commits do not wait for their WAL
   * flush (`synchronous_commit=off`); undefined on SQLite.
   */
  counterPool?: pg.Pool;
}

export const MIGRATIONS = path.resolve(__dirname, '../../drizzle');
// Any constant will do, as long as every instance uses the same one.
const MIGRATION_LOCK_KEY = 7_201_311_001;

export function dialectOf(url: string): Dialect {
  return url.startsWith('file:') ? 'sqlite' : 'postgresql';
}

/** What drizzle's `.prepare(name)` gives on either dialect: run with placeholder values. */
export interface Preparable<R> {
  prepare(name: string): { execute(values?: Record<string, unknown>): Promise<R> };
}

/**
 * A hot query, built once and prepared under `name` (a named statement on PostgreSQL, planned
 * once per connection; a prepared statement on SQLite), so a request pays neither drizzle's query
 * building nor the server's planning. Inside a transaction it runs there, prepared under the same
 * name. Values for its `sql.placeholder`s are passed at each call.
 */
export function prepared<R>(database: Database, name: string, build: (db: Db) => Preparable<R>) {
  const onPool = build(database.db).prepare(name);
  return (values: Record<string, unknown>, tx: Db = database.db): Promise<R> =>
    (tx === database.db ? onPool : build(tx).prepare(name)).execute(values);
}

/** `transaction` and `afterCommit` over a driver's own transaction function. */
export function committing(run: <T>(fn: (tx: Db) => Promise<T>) => Promise<T>) {
  const hooks = new WeakMap<Db, (() => void)[]>();
  return {
    async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
      const pending: (() => void)[] = [];
      const result = await run((tx) => {
        hooks.set(tx, pending);
        return fn(tx);
      });
      for (const hook of pending) hook();
      return result;
    },
    afterCommit(tx: Db, hook: () => void): void {
      const pending = hooks.get(tx);
      if (pending) pending.push(hook);
      else hook();
    },
  };
}

export function openDatabase(url: string): Database {
  if (dialectOf(url) === 'postgresql') return openPostgres(url);
  // Loaded for SQLite only: on PostgreSQL, libsql's client and its native library (10 MB) never
  // enter the process.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { openSqlite } = require('./sqlite') as typeof import('./sqlite');
  return openSqlite(url);
}

/** Connections in an instance's main pool (the bench gives its floor as many). */
export const POOL_MAX = 10;
/** Connections for the rate-limit counters, beside the main pool. */
const COUNTER_POOL_MAX = 4;

function openPool(url: string, max: number, onConnect?: pg.PoolConfig['onConnect']): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    onConnect,
    // Fail fast when the database is gone, so requests get a 503 instead of hanging.
    connectionTimeoutMillis: 3_000,
    idleTimeoutMillis: 30_000,
    statement_timeout: 10_000,
  });
  // An idle client losing its connection emits here; without a listener it would crash us.
  pool.on('error', () => undefined);
  return pool;
}

function openPostgres(url: string): Database {
  const pool = openPool(url, POOL_MAX);
  // Every counted login attempt is a commit of its own (four a login), and waiting for each
  // one's WAL flush was a third of PostgreSQL's CPU for a login here (scripts/bench/README.md).
  // Without the wait a count is still visible to every instance at commit and still exact under
  // concurrency (the row lock is the same); only PostgreSQL crashing itself could lose the last
  // fraction of a second of counts. Sessions, users and everything else stay on the durable pool.
  //
  // The setting is made on each new connection before the pool hands it out, rather than as a
  // startup option, which poolers such as PgBouncer refuse.
  const counterPool = openPool(url, COUNTER_POOL_MAX, async (client) => {
    await client.query('SET synchronous_commit = off');
  });
  const db = drizzlePg(pool) as Db;
  return {
    dialect: 'postgresql',
    url,
    db,
    t: pgSchema,
    pool,
    counterPool,
    ...committing((fn) => db.transaction(fn)),
    async ping() {
      await pool.query('SELECT 1');
    },
    async migrate() {
      // drizzle's migrator takes no lock: hold a session advisory lock on one connection so that
      // instances starting together apply pending migrations exactly once, one after another.
      const client = await pool.connect();
      try {
        await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
        await migratePg(drizzlePg(client), { migrationsFolder: path.join(MIGRATIONS, 'pg') });
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {});
        client.release();
      }
    },
    async close() {
      await Promise.all([pool.end(), counterPool.end()]);
    },
  };
}

/** Every error code along the cause chain: drivers and drizzle wrap errors in errors. */
function codesOf(err: unknown): string[] {
  const codes: string[] = [];
  for (let e = err as { code?: unknown; cause?: unknown } | undefined; e; e = e.cause as never) {
    if (typeof e !== 'object') break;
    if (typeof e.code === 'string') codes.push(e.code);
  }
  return codes;
}

const UNIQUE_CODES = new Set(['23505', 'SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_CONSTRAINT_PRIMARYKEY']);

/** A unique constraint refused the row (PostgreSQL 23505, SQLite SQLITE_CONSTRAINT_UNIQUE). */
export function isUniqueViolation(err: unknown): boolean {
  return codesOf(err).some((code) => UNIQUE_CODES.has(code));
}

/** PostgreSQL refused a string it cannot store (a NUL character, say): the client's input. */
export function isInvalidText(err: unknown): boolean {
  return codesOf(err).some((code) => code === '22021' || code === '22P05');
}

/**
 * The error to log for a failed query: the driver's own, not drizzle's wrapper, whose message
 * lists the query's parameters (a password hash among them, for an insert into users).
 */
export function driverErrorOf(err: unknown): unknown {
  for (let e = err as { query?: unknown; params?: unknown; cause?: unknown } | undefined; e;) {
    if (typeof e !== 'object' || typeof e.query !== 'string' || !Array.isArray(e.params)) return e;
    if (e.cause === undefined) return new Error('a database query failed');
    e = e.cause as never;
  }
  return err;
}

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EPIPE',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
  'SQLITE_BUSY',
]);

/** The database cannot be reached right now: a 503, not a 500. */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (codesOf(err).some((code) => UNAVAILABLE_CODES.has(code))) return true;
  const message = err instanceof Error ? `${err.message} ${String(err.cause ?? '')}` : '';
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect/i.test(
    message,
  );
}
