import { HttpProblem } from '../errors';
import { driverErrorOf } from '../data/database';
import type { IdempotencyKeyStore, StoredAnswer } from '../data/idempotency-keys';
import { logger } from '../logger';
import type { SecretBox } from './secret-box';

export type { StoredAnswer };

/** How long an answer is kept for its key (the product's 24 hours). */
export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;
/**
 * How long a claim is its request's alone. Past it, the claimant is taken for dead (its instance
 * crashed mid-request) and a retry may run in its place; so it is well above the longest a create
 * can take (statements time out after 10 s, a queued password hash after about 1 s).
 */
export const IDEMPOTENCY_LEASE_MS = 60_000;
/** Seconds a client is told to wait while the first request with its key runs. */
export const IN_FLIGHT_RETRY_AFTER_S = 1;

const SWEEP_EVERY_MS = 60_000;
const SWEEP_BATCH = 500;
/** Batches in one sweep at most, so that a sweep never holds the writer for long. */
const SWEEP_MAX_BATCHES = 20;

export interface IdempotencyOptions {
  leaseMs?: number;
  ttlMs?: number;
  sweepEveryMs?: number;
}

/** Answers that are not kept: the client's retry should run afresh, not meet them again. */
export function isKept(status: number): boolean {
  return status < 500 && status !== 429;
}

/**
 * Idempotency-Key's rules over the store: claim a key or say what to answer instead, keep the
 * answer or give the key up, and sweep expired keys on a timer of each instance.
 */
export function createIdempotencyService(
  store: IdempotencyKeyStore,
  box: SecretBox,
  options: IdempotencyOptions = {},
) {
  const leaseMs = options.leaseMs ?? IDEMPOTENCY_LEASE_MS;
  const ttlMs = options.ttlMs ?? IDEMPOTENCY_TTL_MS;
  const sweepEveryMs = options.sweepEveryMs ?? SWEEP_EVERY_MS;
  let timer: NodeJS.Timeout | undefined;
  let sweeping: Promise<unknown> = Promise.resolve();

  const sweep = async (now = new Date()): Promise<number> => {
    let swept = 0;
    for (let batch = 0; batch < SWEEP_MAX_BATCHES; batch++) {
      const deleted = await store.sweep(now, SWEEP_BATCH);
      swept += deleted;
      if (deleted < SWEEP_BATCH) break;
    }
    return swept;
  };

  /**
   * Claims the key `id` for a request with this fingerprint: undefined when the request now holds
   * it, the stored answer (its body sealed) when it was answered before; 422 or 409 otherwise.
   */
  async function claim(id: string, requestHash: string): Promise<StoredAnswer | undefined> {
    const now = new Date();
    const held = await store.claim(id, requestHash, {
      now,
      lockedUntil: new Date(now.getTime() + leaseMs),
      expiresAt: new Date(now.getTime() + ttlMs),
    });
    if (!held) return undefined;
    if (held.requestHash !== requestHash) {
      throw new HttpProblem(
        422,
        'idempotency-key-reused',
        'This Idempotency-Key was used with another request to this operation in the last ' +
          '24 hours. Use a new key for a new request.',
      );
    }
    if (held.answer) return held.answer;
    throw new HttpProblem(
      409,
      'idempotency-key-in-flight',
      `The first request with this Idempotency-Key is still running. Retry after ${IN_FLIGHT_RETRY_AFTER_S} second.`,
      { retryAfter: IN_FLIGHT_RETRY_AFTER_S },
    );
  }

  /** A stored body opened, or undefined when it was sealed under another key. */
  function openBody(sealed: string): string | undefined {
    try {
      return box.open(sealed);
    } catch {
      return undefined;
    }
  }

  return {
    /**
     * Claims the key `id` for a request with this fingerprint. Undefined: the request holds the
     * key and runs. A stored answer: the request was answered before, replay it. Throws 422 when
     * the key was used for another request, 409 while the first request with it still runs.
     */
    async begin(id: string, requestHash: string): Promise<StoredAnswer | undefined> {
      for (let attempt = 0; ; attempt++) {
        const answer = await claim(id, requestHash);
        if (!answer) return undefined;
        const body = openBody(answer.body);
        if (body !== undefined) return { ...answer, body };
        // Sealed under another key (JWT_SECRET or WEBHOOK_SECRET_KEY changed): it cannot be
        // replayed, so the key is given up once and the request runs afresh.
        if (attempt > 0) throw new Error('a stored idempotent answer cannot be opened');
        await store.forget(id);
      }
    },

    /** Settles a claimed key with the request's answer: kept, or the key given up (5xx, 429). */
    async finish(id: string, answer: StoredAnswer): Promise<void> {
      if (isKept(answer.status)) await store.keep(id, { ...answer, body: box.seal(answer.body) });
      else await store.release(id);
    },

    /** Gives a claimed key up without an answer. */
    release: (id: string) => store.release(id),

    /** Deletes expired keys, a bounded number of batches through the expiry index. */
    sweep,

    /** Sweeps every `sweepEveryMs` on this instance; several instances sweeping is harmless. */
    start(): void {
      if (timer) return;
      timer = setInterval(() => {
        sweeping = sweep().catch((err: unknown) => {
          const cause = driverErrorOf(err) as { message?: unknown };
          logger.warn(`sweeping idempotency keys failed: ${String(cause?.message)}`);
        });
      }, sweepEveryMs);
      timer.unref();
    },

    async close(): Promise<void> {
      clearInterval(timer);
      timer = undefined;
      await sweeping;
    },
  };
}

export type IdempotencyService = ReturnType<typeof createIdempotencyService>;
