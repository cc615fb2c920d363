import { sql } from 'drizzle-orm';
import pg from 'pg';
import { logger } from '../logger';
import type { Database, Db } from './database';

/** Something that may end sessions or change what they may do: one session, or a whole user. */
export type SessionChange = { sessionId: string } | { userId: string };
/** `stale`: changes may have been missed (the channel was down); forget everything. */
export type SessionEvent = SessionChange | 'stale';

const CHANNEL = 'opencourse_sessions';
const RECONNECT_MS = [100, 500, 1_000, 2_000, 5_000];

/**
 * Tells every instance when a session's validity changes, so that they may keep it in memory.
 * On PostgreSQL the change is a NOTIFY sent inside the changing transaction (delivered at commit,
 * and only if it commits) and heard on a LISTEN connection of its own; the instance that made
 * the change hears it right after its commit as well. On SQLite, one process, that is all.
 *
 * `isLive()` is false while the listener is not connected: changes may go unheard, so whatever
 * is kept must not be trusted (readers fall back to the database).
 */
export function createSessionEvents(database: Database) {
  const listeners = new Set<(event: SessionEvent) => void>();
  const emit = (event: SessionEvent) => listeners.forEach((listener) => listener(event));
  const shared = database.dialect === 'postgresql';
  let live = !shared;
  let client: pg.Client | undefined;
  let closed = false;
  let started = false;

  async function listen(attempt = 0): Promise<void> {
    if (closed) return;
    const next = new pg.Client({ connectionString: database.url });
    const lost = (err?: Error) => {
      if (client !== next) return;
      client = undefined;
      live = false;
      emit('stale');
      if (!closed)
        logger.warn(`session channel lost${err ? `: ${err.message}` : ''}; reconnecting`);
      next.end().catch(() => undefined);
      setTimeout(() => void listen(), RECONNECT_MS[0]).unref();
    };
    next.on('error', lost);
    next.on('end', () => lost());
    next.on('notification', (message) => {
      try {
        emit(JSON.parse(message.payload ?? '') as SessionChange);
      } catch {
        emit('stale');
      }
    });
    try {
      await next.connect();
      await next.query(`LISTEN ${CHANNEL}`);
    } catch {
      next.end().catch(() => undefined);
      const delay = RECONNECT_MS[Math.min(attempt, RECONNECT_MS.length - 1)];
      if (!closed) setTimeout(() => void listen(attempt + 1), delay).unref();
      return;
    }
    if (closed) return void (await next.end().catch(() => undefined));
    client = next;
    // Anything kept from before may have changed while nobody listened.
    emit('stale');
    live = true;
  }

  return {
    /** Announces a change from inside `tx`: heard everywhere once `tx` commits. */
    async announce(tx: Db, change: SessionChange): Promise<void> {
      if (shared) await tx.execute(sql`SELECT pg_notify(${CHANNEL}, ${JSON.stringify(change)})`);
      database.afterCommit(tx, () => emit(change));
    },
    onEvent(listener: (event: SessionEvent) => void): void {
      listeners.add(listener);
    },
    isLive: () => live,
    /** Starts listening (PostgreSQL); resolves once the first attempt has connected or failed. */
    async start(): Promise<void> {
      if (!shared || started) return;
      started = true;
      await listen();
    },
    async close(): Promise<void> {
      closed = true;
      live = !shared;
      await client?.end().catch(() => undefined);
      client = undefined;
    },
  };
}

export type SessionEvents = ReturnType<typeof createSessionEvents>;
