import { sql } from 'drizzle-orm';
import type { Database } from './database';

/**
 * Counts shared between instances in `rate_limits`, the table rate-limiter-flexible keeps its own
 * counters in (and sweeps when they expire): one statement adds a batch of counts and returns
 * the totals every instance has added so far. PostgreSQL only (on SQLite the counts stay in the
 * process).
 */
export function createRateCountStore({ db, t }: Database) {
  const { rateLimits } = t;
  return {
    async add(counts: Map<string, number>, expiresAt: number): Promise<Map<string, number>> {
      // The batch travels as two arrays, so the statement is the same text whatever its size:
      // a batch of thousands of addresses costs neither thousands of parameters nor the building
      // of a statement that long.
      const { rows } = await db.execute<{ key: string; points: number }>(sql`
        INSERT INTO ${rateLimits} (key, points, expire)
        SELECT batch.key, batch.points, ${expiresAt}::bigint
          FROM unnest(${sql.param([...counts.keys()])}::varchar[],
                      ${sql.param([...counts.values()])}::integer[]) AS batch(key, points)
        ON CONFLICT (key) DO UPDATE SET points = ${rateLimits}.points + excluded.points
        RETURNING key, points`);
      return new Map(rows.map((row) => [row.key, row.points]));
    },
  };
}

export type RateCountStore = ReturnType<typeof createRateCountStore>;
