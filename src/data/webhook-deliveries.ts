import { randomUUID } from 'node:crypto';
import {
  and,
  asc,
  desc,
  eq,
  exists,
  inArray,
  isNotNull,
  isNull,
  lt,
  lte,
  or,
  sql,
  type SQL,
} from 'drizzle-orm';
import { prepared, type Database, type Db, type Tables } from './database';
import { afterPosition } from './keyset';

/** A webhook_deliveries row, as Drizzle reads it. */
export type DeliveryRow = Tables['webhookDeliveries']['$inferSelect'];

/** One event's message, to be sent to each of `endpointIds`. */
export interface OutboxMessage {
  eventType: string;
  /** The body as it will be sent, byte for byte, on every attempt. */
  payload: string;
  endpointIds: readonly string[];
  at: Date;
}

/**
 * A delivery a worker holds until `lockedUntil`, with where it goes. `lockedUntil` is also the
 * claim's fencing token: an attempt is recorded only while the row still carries it, so a worker
 * whose lease ran out and was taken over cannot overwrite the new holder's record.
 */
export interface ClaimedDelivery {
  id: string;
  endpointId: string;
  eventType: string;
  payload: string;
  attempts: number;
  lockedUntil: Date;
  /** Where the endpoint points now, and whether it still wants anything. */
  url: string;
  endpoint: 'enabled' | 'disabled' | 'deleted';
}

export interface AttemptResult {
  at: Date;
  /** The receiver's status, or null when none came (refused, unreachable, timed out). */
  statusCode: number | null;
  /** `delivered`, `pending` with the next attempt's time, or `failed` (no more attempts). */
  status: 'delivered' | 'pending' | 'failed';
  nextAttemptAt: Date | null;
}

export interface DeliveryPageQuery {
  /** The keyset position (createdAt, id) of the last row of the previous page. */
  after?: { createdAt: Date; id: string };
  limit: number;
}

/**
 * The webhook_deliveries table, the outbox and the delivery log in one: the only module that
 * reads or writes it. Messages are inserted in the transaction of the change that causes them;
 * workers claim the due ones under a lease, record each attempt, and release what they hold when
 * they stop. Due-ness and leases are decided on the database's clock on PostgreSQL, so instances
 * whose clocks drift apart still agree on whose turn it is.
 */
export function createWebhookDeliveryStore(database: Database) {
  const { webhookDeliveries: d, webhookEndpoints: e } = database.t;
  const pg = database.dialect === 'postgresql';

  /**
   * Pending, due, and held by nobody (or by a worker whose lease ran out). Messages to a disabled
   * endpoint wait, untouched, until it is enabled again; those to a deleted one are claimed only
   * to be given up.
   */
  const dueAt = (now: SQL | Date) =>
    and(
      eq(d.status, 'pending'),
      lte(d.nextAttemptAt, now),
      or(isNull(d.lockedUntil), lt(d.lockedUntil, now)),
      exists(
        database.db
          .select({ id: e.id })
          .from(e)
          .where(and(eq(e.id, d.endpointId), or(eq(e.enabled, true), isNotNull(e.deletedAt)))),
      ),
    );

  /** The claimed rows with their endpoints' url and state. */
  async function withEndpoints(db: Db, claimed: DeliveryRow[]): Promise<ClaimedDelivery[]> {
    if (claimed.length === 0) return [];
    const endpointIds = [...new Set(claimed.map((row) => row.endpointId))];
    const endpoints = await db
      .select({ id: e.id, url: e.url, enabled: e.enabled, deletedAt: e.deletedAt })
      .from(e)
      .where(inArray(e.id, endpointIds));
    const byId = new Map(endpoints.map((endpoint) => [endpoint.id, endpoint]));
    return claimed.map((row) => {
      const endpoint = byId.get(row.endpointId);
      return {
        id: row.id,
        endpointId: row.endpointId,
        eventType: row.eventType,
        payload: row.payload,
        attempts: row.attempts,
        lockedUntil: row.lockedUntil as Date,
        url: endpoint?.url ?? '',
        endpoint:
          !endpoint || endpoint.deletedAt !== null
            ? 'deleted'
            : endpoint.enabled
              ? 'enabled'
              : 'disabled',
      };
    });
  }

  /**
   * PostgreSQL's claim, one statement: the due rows are locked with `FOR UPDATE SKIP LOCKED`, so
   * workers claiming at the same moment pass over each other's rows instead of waiting or taking
   * them twice. Prepared: every instance runs it every second, busy or idle.
   */
  const claimDue = pg
    ? prepared(database, 'webhook_deliveries_claim', (db) => {
        const now = sql`now()`;
        const due = db
          .select({ id: d.id })
          .from(d)
          .where(dueAt(now))
          .orderBy(asc(d.nextAttemptAt))
          .limit(sql.placeholder('limit'))
          .for('update', { skipLocked: true });
        return (
          db
            .update(d)
            .set({
              // Milliseconds, so that the lease read back as a Date is the exact value stored.
              lockedUntil: sql`date_trunc('milliseconds', now()) + ${sql.placeholder('lease_ms')}::integer * interval '1 millisecond'`,
            })
            // `= any(array(...))`, not `in (...)`: the claim is prepared once for every limit, and
            // with `LIMIT $n` a generic plan guesses a tenth of the table and joins it by a full
            // scan; an array is computed once (an InitPlan) and looked up by primary key.
            .where(sql`${d.id} = any(array(${due}))`)
            .returning()
        );
      })
    : undefined;

  return {
    /** One row per endpoint, due at once, inside the caller's transaction. */
    async insert(tx: Db, message: OutboxMessage): Promise<string[]> {
      if (message.endpointIds.length === 0) return [];
      const rows = message.endpointIds.map((endpointId) => ({
        id: randomUUID(),
        endpointId,
        eventType: message.eventType,
        payload: message.payload,
        status: 'pending' as const,
        attempts: 0,
        lastAttemptAt: null,
        lastStatusCode: null,
        nextAttemptAt: message.at,
        lockedUntil: null,
        createdAt: message.at,
      }));
      await tx.insert(d).values(rows);
      return rows.map((row) => row.id);
    },

    /**
     * Takes up to `limit` due deliveries for `leaseMs`, oldest due first: on PostgreSQL in one
     * statement (`claimDue`); on SQLite, a read then a write under the writer mutex, which no
     * other write interleaves.
     */
    async claim(limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
      if (limit <= 0) return [];
      if (claimDue) {
        const claimed = await claimDue({ limit, lease_ms: leaseMs });
        return withEndpoints(database.db, claimed);
      }
      // A read outside the writer mutex first: an idle worker then never queues writers behind it.
      const now = new Date();
      const [any] = await database.db.select({ id: d.id }).from(d).where(dueAt(now)).limit(1);
      if (!any) return [];
      return database.transaction(async (tx) => {
        const at = new Date();
        const ids = await tx
          .select({ id: d.id })
          .from(d)
          .where(dueAt(at))
          .orderBy(asc(d.nextAttemptAt))
          .limit(limit);
        if (ids.length === 0) return [];
        const claimed = await tx
          .update(d)
          .set({ lockedUntil: new Date(at.getTime() + leaseMs) })
          .where(
            inArray(
              d.id,
              ids.map((row) => row.id),
            ),
          )
          .returning();
        return withEndpoints(tx, claimed);
      });
    },

    /**
     * Writes an attempt's outcome and frees the row, while the claim is still this worker's.
     * False when another worker took the delivery over meanwhile (the lease ran out).
     */
    async recordAttempt(claim: ClaimedDelivery, result: AttemptResult): Promise<boolean> {
      return database.transaction(async (tx) => {
        const rows = await tx
          .update(d)
          .set({
            attempts: sql`${d.attempts} + 1`,
            lastAttemptAt: result.at,
            lastStatusCode: result.statusCode,
            status: result.status,
            nextAttemptAt: result.nextAttemptAt,
            lockedUntil: null,
          })
          .where(and(eq(d.id, claim.id), eq(d.lockedUntil, claim.lockedUntil)))
          .returning({ id: d.id });
        return rows.length > 0;
      });
    },

    /**
     * Gives up a delivery without an attempt: its endpoint was deleted since the message was
     * written. It stays in the log, failed.
     */
    async abandon(claim: ClaimedDelivery): Promise<void> {
      await database.transaction(async (tx) => {
        await tx
          .update(d)
          .set({ status: 'failed', nextAttemptAt: null, lockedUntil: null })
          .where(and(eq(d.id, claim.id), eq(d.lockedUntil, claim.lockedUntil)));
      });
    },

    /** Hands claimed deliveries back untried, due as they were (a worker stopping). */
    async release(claims: readonly ClaimedDelivery[]): Promise<void> {
      if (claims.length === 0) return;
      await database.transaction(async (tx) => {
        for (const claim of claims) {
          await tx
            .update(d)
            .set({ lockedUntil: null })
            .where(and(eq(d.id, claim.id), eq(d.lockedUntil, claim.lockedUntil)));
        }
      });
    },

    /** One page of an endpoint's deliveries, newest first on (createdAt, id). */
    listForEndpoint(endpointId: string, query: DeliveryPageQuery): Promise<DeliveryRow[]> {
      const after = query.after
        ? afterPosition(
            d.createdAt,
            d.id,
            { value: query.after.createdAt, id: query.after.id },
            true,
          )
        : undefined;
      return database.db
        .select()
        .from(d)
        .where(and(eq(d.endpointId, endpointId), after))
        .orderBy(desc(d.createdAt), desc(d.id))
        .limit(query.limit);
    },

    /**
     * Queues a delivery again, the same message under the same id, due now; undefined when the
     * endpoint has no such delivery. A claim in flight keeps its lease: the row becomes due again
     * once that attempt is recorded or its lease runs out.
     */
    async redeliver(endpointId: string, id: string): Promise<DeliveryRow | undefined> {
      return database.transaction(async (tx) => {
        const [row] = await tx
          .update(d)
          .set({ status: 'pending', nextAttemptAt: new Date() })
          .where(and(eq(d.id, id), eq(d.endpointId, endpointId)))
          .returning();
        return row;
      });
    },
  };
}

export type WebhookDeliveryStore = ReturnType<typeof createWebhookDeliveryStore>;
