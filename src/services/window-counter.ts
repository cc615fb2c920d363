import type { LimitState } from '../domain';
import { logger } from '../logger';

/** Where the counts of every instance meet: adds a batch, answers the totals. */
export interface SharedCounts {
  add(counts: Map<string, number>, expiresAt: number): Promise<Map<string, number>>;
}

/** Whether the request may go on, and where its key stands (for the RateLimit headers). */
export interface WindowOutcome {
  allowed: boolean;
  state: LimitState;
}

interface Entry {
  window: number;
  /** What every instance had counted at the last exchange, this one's included. */
  shared: number;
  /** Sent to the store by an exchange that has not answered yet: still counted here. */
  inFlight: number;
  /** Counted here since then. */
  pending: number;
}

/**
 * A fixed-window limit that decides in memory, with no round trip per request, and exchanges its
 * counts with the other instances in batches every `exchangeMs`: each instance adds what it
 * counted and learns the total. Between two exchanges the instances together may let through at
 * most that interval's worth of traffic beyond the limit. Without `shared`, counts stay here.
 */
export function createWindowCounter(options: {
  points: number;
  durationMs: number;
  shared?: SharedCounts;
  exchangeMs?: number;
}) {
  const { points, durationMs, shared } = options;
  const entries = new Map<string, Entry>();
  const windowOf = (now: number) => Math.floor(now / durationMs);

  async function exchange(): Promise<void> {
    const current = windowOf(Date.now());
    const sending: [Entry, string, number][] = [];
    for (const [key, entry] of entries) {
      if (entry.window !== current) entries.delete(key);
      else if (entry.pending > 0) sending.push([entry, `${current}:${key}`, entry.pending]);
    }
    if (!shared || sending.length === 0) return;
    for (const [entry, , n] of sending) {
      entry.pending -= n;
      entry.inFlight += n;
    }
    try {
      const totals = await shared.add(
        new Map(sending.map(([, key, n]) => [key, n])),
        (current + 1) * durationMs,
      );
      for (const [entry, key, n] of sending) {
        entry.inFlight -= n;
        entry.shared = totals.get(key) ?? entry.shared + n;
      }
    } catch (err) {
      // The store is away: keep counting here (the general limit stays open) and try again.
      for (const [entry, , n] of sending) {
        entry.inFlight -= n;
        entry.pending += n;
      }
      logger.warn(`rate limit counts not shared: ${String(err)}`);
    }
  }

  const timer = shared ? setInterval(() => void exchange(), options.exchangeMs ?? 500) : undefined;
  timer?.unref();

  return {
    /** Counts one request for `key`, or refuses it once the window's points are spent. */
    consume(key: string): WindowOutcome {
      const now = Date.now();
      const window = windowOf(now);
      let entry = entries.get(key);
      if (!entry || entry.window !== window) {
        entry = { window, shared: 0, inFlight: 0, pending: 0 };
        entries.set(key, entry);
      }
      const used = entry.shared + entry.inFlight + entry.pending;
      const resetSeconds = Math.max(1, Math.ceil(((window + 1) * durationMs - now) / 1000));
      if (used >= points) {
        return { allowed: false, state: { limit: points, remaining: 0, resetSeconds } };
      }
      entry.pending++;
      return {
        allowed: true,
        state: { limit: points, remaining: points - used - 1, resetSeconds },
      };
    },
    /** Shares what is pending now (tests, shutdown). */
    exchange,
    async close(): Promise<void> {
      if (timer) clearInterval(timer);
      await exchange();
    },
  };
}

export type WindowCounter = ReturnType<typeof createWindowCounter>;
