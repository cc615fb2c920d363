import { and, asc, eq, inArray, isNull, lte, lt, or } from 'drizzle-orm';
import type { Database } from './database';

/** An answer kept for replay: its status, the header fields it set, and its body as sent. */
export interface StoredAnswer {
  status: number;
  headers: Record<string, string | string[]>;
  body: string;
}

/** A key that another request holds: what it was for, and its answer once it has one. */
export interface HeldKey {
  requestHash: string;
  /** Undefined while the request that claimed the key still runs. */
  answer?: StoredAnswer;
}

export interface ClaimTimes {
  now: Date;
  /** Until when the claim is the claimant's alone; past it, another request may take it over. */
  lockedUntil: Date;
  expiresAt: Date;
}

/** How many times a claim is tried again when the row it clashed with vanished meanwhile. */
const CLAIM_ATTEMPTS = 3;

/**
 * `idempotency_keys` (src/http/idempotency.ts): the answers of creates sent with an
 * Idempotency-Key. Nothing else touches the table.
 */
export function createIdempotencyKeyStore(database: Database) {
  const { db, t } = database;
  const keys = t.idempotencyKeys;

  /**
   * Inserts the claim, or takes over a row that no longer counts: one past its expiry (not swept
   * yet), or one for the same request whose claimant's lease ran out (an instance that died
   * mid-request). One upsert, so of two requests racing for a key exactly one wins, on either
   * dialect. True when this request now holds the key.
   */
  const upsertClaim = async (id: string, requestHash: string, times: ClaimTimes) => {
    const claim = {
      requestHash,
      status: null,
      headers: null,
      body: null,
      lockedUntil: times.lockedUntil,
      createdAt: times.now,
      expiresAt: times.expiresAt,
    };
    const rows = await database.transaction((tx) =>
      tx
        .insert(keys)
        .values({ id, ...claim })
        .onConflictDoUpdate({
          target: keys.id,
          set: claim,
          setWhere: or(
            lte(keys.expiresAt, times.now),
            and(
              isNull(keys.status),
              lte(keys.lockedUntil, times.now),
              eq(keys.requestHash, requestHash),
            ),
          ),
        })
        .returning({ id: keys.id }),
    );
    return rows.length > 0;
  };

  const find = async (id: string): Promise<HeldKey | undefined> => {
    const [row] = await db
      .select({
        requestHash: keys.requestHash,
        status: keys.status,
        headers: keys.headers,
        body: keys.body,
      })
      .from(keys)
      .where(eq(keys.id, id))
      .limit(1);
    if (!row) return undefined;
    if (row.status === null) return { requestHash: row.requestHash };
    return {
      requestHash: row.requestHash,
      answer: {
        status: row.status,
        headers: JSON.parse(row.headers ?? '{}') as StoredAnswer['headers'],
        body: row.body ?? '',
      },
    };
  };

  return {
    /**
     * Claims the key `id` for a request whose fingerprint is `requestHash`: undefined when this
     * request holds it now and should run, otherwise the key as another request left it.
     */
    async claim(id: string, requestHash: string, times: ClaimTimes): Promise<HeldKey | undefined> {
      for (let attempt = 1; ; attempt++) {
        if (await upsertClaim(id, requestHash, times)) return undefined;
        const held = await find(id);
        if (held) return held;
        // Released or swept between the two statements: claim again. Should it keep vanishing,
        // report the key as held and running; the client's retry will find it settled.
        if (attempt === CLAIM_ATTEMPTS) return { requestHash };
      }
    },

    /** Keeps the answer of the request that holds the key. */
    async keep(id: string, answer: StoredAnswer): Promise<void> {
      await database.transaction((tx) =>
        tx
          .update(keys)
          .set({
            status: answer.status,
            headers: JSON.stringify(answer.headers),
            body: answer.body,
            lockedUntil: null,
          })
          .where(and(eq(keys.id, id), isNull(keys.status))),
      );
    },

    /** Gives the key up without an answer: the next request with it runs afresh. */
    async release(id: string): Promise<void> {
      await database.transaction((tx) =>
        tx.delete(keys).where(and(eq(keys.id, id), isNull(keys.status))),
      );
    },

    /** Forgets a kept answer that cannot be replayed (sealed under a key no longer in use). */
    async forget(id: string): Promise<void> {
      await database.transaction((tx) => tx.delete(keys).where(eq(keys.id, id)));
    },

    /**
     * Deletes up to `limit` keys that expired before `now`, oldest first, found through the
     * index on `expires_at` (never a scan of the table). How many went.
     */
    async sweep(now: Date, limit: number): Promise<number> {
      const rows = await database.transaction((tx) =>
        tx
          .delete(keys)
          .where(
            inArray(
              keys.id,
              tx
                .select({ id: keys.id })
                .from(keys)
                .where(lt(keys.expiresAt, now))
                .orderBy(asc(keys.expiresAt))
                .limit(limit),
            ),
          )
          .returning({ id: keys.id }),
      );
      return rows.length;
    },
  };
}

export type IdempotencyKeyStore = ReturnType<typeof createIdempotencyKeyStore>;
