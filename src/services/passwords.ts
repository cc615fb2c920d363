import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import argon2 from 'argon2';
import { problems } from '../errors';

/**
 * argon2id at the least memory of OWASP's five equivalent settings (7 MiB, 5 passes, 1 lane; the
 * others take more memory for fewer passes, up to 46 MiB and 1). A server hashes for many callers
 * at once and each hash holds its memory while it runs: 7 MiB rather than 19 keeps 12 MiB less
 * per hash resident, evicts less of what the database and the event loop share the core with,
 * and hashes a little faster here (scripts/bench/README.md). The argon2 package runs each hash on
 * libuv's thread pool, so hashing never blocks the event loop. Hashes made with other settings
 * still verify (each names its own) and are remade at the next login (`needsRehash`).
 */
export const HASH_OPTIONS = {
  type: argon2.argon2id,
  memoryCost: 7_168,
  timeCost: 5,
  parallelism: 1,
} as const;

/** Whether `hash` was made with other settings than HASH_OPTIONS; false for one that does not parse. */
export function needsRehash(hash: string): boolean {
  try {
    return argon2.needsRehash(hash, HASH_OPTIONS);
  } catch {
    return false;
  }
}

export interface HasherOptions {
  /** Hashes computed at once. Default: the cores, leaving one of libuv's threads free. */
  concurrency?: number;
  /**
   * Hashes that may wait for a turn. Default: what the workers get through in about a second, at
   * what a hash costs here (`nextEstimate`).
   */
  maxWaiting?: number;
}

/**
 * What a hash costs here, from the last estimate and a new timing. A hash's own cost has a floor
 * and only the core's contention makes one take longer: a faster timing is believed at once, a
 * slower one only a little at a time. Believed at once, a few slow hashes (the core busy with
 * other work for a moment) would shrink the queue, refuse logins, and the flood of cheap retries
 * would keep the hashes slow: a spiral of 503s at a load the server can carry.
 */
export function nextEstimate(estimateMs: number, timedMs: number): number {
  return timedMs < estimateMs ? timedMs : 0.95 * estimateMs + 0.05 * timedMs;
}

const busy = () => problems.unavailable('The server is busy checking passwords; try again.', 1);

/**
 * Every argon2 computation passes through a bounded queue: past what the workers can do in about
 * a second, a caller is told 503 at once instead of everyone waiting longer and longer. libuv's
 * pool (4 threads unless UV_THREADPOOL_SIZE says otherwise) is shared with file and DNS work, so
 * at least one thread is always left to it: work that needs no hash is never slowed by hashing.
 */
export function createPasswordHasher(options: HasherOptions = {}) {
  const pool = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  const concurrency =
    options.concurrency ?? Math.max(1, Math.min(availableParallelism(), pool - 1));
  // Until a hash has been timed, assume 25 ms (what the development machine measures).
  let hashMs = 25;
  const maxWaiting = () =>
    options.maxWaiting ?? Math.max(concurrency, Math.floor((concurrency * 1000) / hashMs));
  let running = 0;
  const waiting: (() => void)[] = [];

  /** The 503, when every worker is busy and the queue is full. */
  function admit(): void {
    if (running >= concurrency && waiting.length >= maxWaiting()) throw busy();
  }

  async function inTurn<T>(work: () => Promise<T>): Promise<T> {
    admit();
    if (running < concurrency) running++;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    const started = performance.now();
    try {
      return await work();
    } finally {
      hashMs = nextEstimate(hashMs, performance.now() - started);
      // Hand the turn straight to the next in line, or give it up.
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  }

  let dummy: Promise<string> | undefined;
  // A hash of nothing anyone knows, made once, to verify against when there is no account.
  const dummyHash = () => (dummy ??= argon2.hash(`no-account-${Math.random()}`, HASH_OPTIONS));

  return {
    hash: (password: string): Promise<string> => inTurn(() => argon2.hash(password, HASH_OPTIONS)),

    /** Whether `password` matches `hash`; false for a hash that does not parse (a deleted user). */
    verify: (hash: string, password: string): Promise<boolean> =>
      inTurn(() => argon2.verify(hash, password).catch(() => false)),

    /**
     * A real argon2id verification with the live parameters that always fails: an unknown email
     * must cost what a wrong password costs, so timing tells nothing about which accounts exist.
     */
    async verifyNothing(password: string): Promise<false> {
      const hash = await dummyHash();
      await inTurn(() => argon2.verify(hash, password).catch(() => false));
      return false;
    },

    /**
     * The same 503, now, when a hash asked for now would be refused. A login or password change
     * calls it first, so that one it cannot check costs no limit bookkeeping and no database
     * reads: under a flood of logins the refusals stay cheap and the core stays with the hashes.
     */
    admit,

    /** Makes the dummy hash ahead of the first login that needs it. */
    async warmUp(): Promise<void> {
      await dummyHash();
    },

    /** How many hashes run at once and how many may wait: what the 503 threshold is. */
    queue: () => ({ concurrency, maxWaiting: maxWaiting(), running, waiting: waiting.length }),
  };
}

export type PasswordHasher = ReturnType<typeof createPasswordHasher>;
