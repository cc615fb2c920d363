import { sql } from 'drizzle-orm';
import type { Database } from './database';

/**
 * Counts shared between instances in `rate_limits`, the table rate-limiter-flexible keeps its own
 * counters in (and sweeps when they expire): one statement adds a batch of counts and returns
 * the totals every instance has added so far.
 */
export function createRateCountStore({ db, t }: Database) {
  return {
    async add(counts: Map<string, number>, expiresAt: number): Promise<Map<string, number>> {
      const rows = [...counts].map(([key, points]) => ({ key, points, expire: expiresAt }));
      const totals = await db
        .insert(t.rateLimits)
        .values(rows)
        .onConflictDoUpdate({
          target: t.rateLimits.key,
          set: { points: sql`${t.rateLimits.points} + excluded.points` },
        })
        .returning({ key: t.rateLimits.key, points: t.rateLimits.points });
      return new Map(totals.map((row) => [row.key, row.points]));
    },
  };
}

export type RateCountStore = ReturnType<typeof createRateCountStore>;
