import { hash } from 'node:crypto';
import {
  RateLimiterMemory,
  RateLimiterPostgres,
  RateLimiterRedis,
  RateLimiterRes,
  type IRateLimiterOptions,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import type { Config } from '../config';
import type { Database } from '../data/database';
import { createRateCountStore } from '../data/rate-counts';
import type { LimitState } from '../domain';
import { problems } from '../errors';
import { logger } from '../logger';
import type { LimitName, Metrics } from '../observability/metrics';
import { clientKey } from './client-address';
import { createWindowCounter, type SharedCounts } from './window-counter';

const LOGIN_WINDOW_S = 15 * 60;
const HOUR_S = 60 * 60;
const DAY_S = 24 * HOUR_S;
/** Verification and reset emails to one recipient, whatever address asks for them. */
const MAILS_PER_RECIPIENT_PER_HOUR = 5;

/**
 * Counters shared by every instance: in PostgreSQL (our `rate_limits` table, made by a migration)
 * or Redis where REDIS_URL is set; in memory on SQLite, which is a single process.
 */
function limiterFactory(config: Config, database: Database) {
  // ioredis is loaded only where REDIS_URL is set.
  const redis = config.redisUrl
    ? // eslint-disable-next-line @typescript-eslint/no-require-imports
      new (require('ioredis') as typeof import('ioredis')).Redis(config.redisUrl, {
        enableOfflineQueue: false,
        lazyConnect: false,
      })
    : undefined;
  redis?.on('error', (err: Error) => logger.warn(`redis: ${err.message}`));
  let first = true;
  const make = (opts: IRateLimiterOptions): RateLimiterAbstract => {
    if (redis) return new RateLimiterRedis({ ...opts, storeClient: redis });
    if (database.counterPool) {
      // Only one limiter needs to sweep expired rows: they all share the table.
      const sweep = first;
      first = false;
      return new RateLimiterPostgres({
        ...opts,
        storeClient: database.counterPool,
        tableName: 'rate_limits',
        tableCreated: true,
        clearExpiredByTimeout: sweep,
      });
    }
    return new RateLimiterMemory(opts);
  };
  /** Where the general limit's batches meet: Redis, PostgreSQL, or nowhere (one process). */
  const sharedCounts: SharedCounts | undefined = redis
    ? {
        async add(counts, expiresAt) {
          const batch = redis.pipeline();
          for (const [key, n] of counts)
            batch.incrby(`general:${key}`, n).pexpireat(`general:${key}`, expiresAt);
          const results = (await batch.exec()) ?? [];
          const totals = new Map<string, number>();
          [...counts.keys()].forEach((key, i) => {
            const [err, total] = results[2 * i] ?? [];
            if (err) throw err;
            totals.set(key, Number(total));
          });
          return totals;
        },
      }
    : database.pool
      ? createRateCountStore(database)
      : undefined;
  return {
    make,
    sharedCounts,
    /** Commands are not queued while Redis is away (a request must not hang on its limiter), so
     * start-up waits for the connection once. */
    async ready(): Promise<void> {
      if (!redis || redis.status === 'ready') return;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error('Redis (REDIS_URL) did not answer')),
          5_000,
        );
        redis.once('ready', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
    close: async () => void (await redis?.quit().catch(() => undefined)),
  };
}

function stateOf(res: RateLimiterRes, limit: number): LimitState {
  return {
    limit,
    remaining: Math.max(0, res.remainingPoints),
    resetSeconds: Math.max(1, Math.ceil(res.msBeforeNext / 1000)),
  };
}

/**
 * A key part that is long or personal (an email) is stored as its SHA-256: every key then fits
 * the store's column whatever the document accepts, and no address sits in the store in clear.
 */
const hashed = (...parts: string[]) => hash('sha256', parts.join('\n'), 'base64url');

const storeUnavailable = () =>
  problems.unavailable('Limits cannot be checked right now; try again.');

/** Counts one refusal, for the limit it was made for. */
type OnRefused = () => void;

/** Limits that guard passwords and mailboxes: refused (429), or 503 when they cannot be counted. */
async function consumeExact(
  limiter: RateLimiterAbstract,
  key: string,
  limit: number,
  detail: string,
  refused: OnRefused,
): Promise<LimitState> {
  try {
    return stateOf(await limiter.consume(key), limit);
  } catch (rejection) {
    if (rejection instanceof RateLimiterRes) {
      refused();
      throw problems.tooManyRequests(stateOf(rejection, limit), detail);
    }
    logger.warn(`rate limit store unavailable, request refused: ${String(rejection)}`);
    throw storeUnavailable();
  }
}

/** Bookkeeping after the answer is decided: a store failure here is logged, not answered. */
async function settle(what: string, work: Promise<unknown>): Promise<void> {
  await work.catch((err: unknown) =>
    logger.warn(`rate limit ${what} not recorded: ${String(err)}`),
  );
}

/**
 * Password guesses, counted before the password is checked: each attempt takes a point first, so
 * a burst sent at once gets no more checks than the limit allows. A success gives the point back
 * (and forgets the failures); the attempt that uses the last point locks the key out for the
 * whole window from that failure.
 */
function attemptLimit(
  limiter: RateLimiterAbstract,
  max: number,
  detail: string,
  refused: OnRefused,
) {
  return {
    begin: (key: string) => consumeExact(limiter, key, max, detail, refused),
    async failed(key: string, state: LimitState): Promise<LimitState> {
      if (state.remaining > 0) return state;
      await settle('lock-out', limiter.block(key, LOGIN_WINDOW_S));
      return { limit: max, remaining: 0, resetSeconds: LOGIN_WINDOW_S };
    },
    async succeeded(key: string): Promise<LimitState> {
      await settle('reset', limiter.delete(key));
      return { limit: max, remaining: max, resetSeconds: LOGIN_WINDOW_S };
    },
    /** The attempt was not checked after all (the server was too busy): its point goes back. */
    release: (key: string) => settle('release', limiter.reward(key, 1)),
  };
}

/** One counted attempt, its keys bound: counted by `begin`, then settled once. */
interface Attempt {
  begin(): Promise<LimitState>;
  failed(counted: LimitState): Promise<LimitState>;
  succeeded(): Promise<LimitState>;
  release(): Promise<void>;
}

/**
 * Counts an attempt, runs `check` (a password verification), and settles the attempt by its
 * outcome: a failure keeps its point, a success gives it back, and a check that did not happen
 * (the server too busy, the database away) releases it. Where the caller stands comes back too.
 */
async function counted(
  attempt: Attempt,
  check: () => Promise<boolean>,
): Promise<{ passed: boolean; limit: LimitState }> {
  const state = await attempt.begin();
  let passed: boolean;
  try {
    passed = await check();
  } catch (err) {
    await attempt.release();
    throw err;
  }
  return { passed, limit: passed ? await attempt.succeeded() : await attempt.failed(state) };
}

export function createLimits(config: Config, database: Database, metrics: Metrics) {
  const factory = limiterFactory(config, database);
  const refusedBy = (limit: LimitName) => () => metrics.limitRefusals.inc({ limit });
  const refusedGeneral = refusedBy('general');
  const refusedSensitive = refusedBy('sensitive');
  const refusedEmail = refusedBy('email_recipient');
  const perMinute = config.rateLimitPerMinute;
  const perHour = config.rateLimitSensitivePerHour;
  // Every request passes it: decided in memory, shared between instances in batches.
  const general =
    perMinute > 0
      ? createWindowCounter({ points: perMinute, durationMs: 60_000, shared: factory.sharedCounts })
      : undefined;
  const sensitive =
    perHour > 0
      ? factory.make({ keyPrefix: 'sensitive', points: perHour, duration: HOUR_S })
      : undefined;
  const max = config.loginMaxFailures;
  const perDay = config.loginMaxFailuresPerDay;
  const loginPair = attemptLimit(
    factory.make({ keyPrefix: 'login', points: max, duration: LOGIN_WINDOW_S }),
    max,
    'Too many failed logins for this account from your address; try again later.',
    refusedBy('login'),
  );
  const loginDaily = attemptLimit(
    factory.make({ keyPrefix: 'login-day', points: perDay, duration: DAY_S }),
    perDay,
    'Too many failed logins from your address today.',
    refusedBy('login_daily'),
  );
  const passwordChecks = attemptLimit(
    factory.make({ keyPrefix: 'password', points: max, duration: LOGIN_WINDOW_S }),
    max,
    'Too many wrong current passwords; try again later.',
    refusedBy('password_change'),
  );
  const mailTo = factory.make({
    keyPrefix: 'mail-to',
    points: MAILS_PER_RECIPIENT_PER_HOUR,
    duration: HOUR_S,
  });
  const pairKey = (email: string, ip: string) => hashed(email.toLowerCase(), clientKey(ip));

  /** A login attempt: the email and address pair, and the address's daily count. */
  const loginAttempt = (email: string, ip: string): Attempt => {
    const pair = pairKey(email, ip);
    const address = clientKey(ip);
    return {
      async begin() {
        const state = await loginPair.begin(pair);
        try {
          await loginDaily.begin(address);
        } catch (refused) {
          await loginPair.release(pair);
          throw refused;
        }
        return state;
      },
      failed: (state) => loginPair.failed(pair, state),
      async succeeded() {
        await loginDaily.release(address);
        return loginPair.succeeded(pair);
      },
      async release() {
        await Promise.all([loginPair.release(pair), loginDaily.release(address)]);
      },
    };
  };
  const passwordAttempt = (userId: string): Attempt => ({
    begin: () => passwordChecks.begin(userId),
    failed: (state) => passwordChecks.failed(userId, state),
    succeeded: () => passwordChecks.succeeded(userId),
    release: () => passwordChecks.release(userId),
  });

  return {
    /**
     * RATE_LIMIT_PER_MINUTE per client address, over every route. Counted in memory and shared
     * within about half a second; open (and counting locally) while the store is down.
     */
    general: (ip: string) => {
      const outcome = general?.consume(clientKey(ip));
      if (outcome && !outcome.allowed) refusedGeneral();
      return outcome;
    },
    /** RATE_LIMIT_SENSITIVE_PER_HOUR per address, on routes that send email or create accounts. */
    sensitive: async (ip: string): Promise<LimitState | undefined> =>
      sensitive
        ? consumeExact(
            sensitive,
            clientKey(ip),
            perHour,
            'Too many account or email requests from your address; try again later.',
            refusedSensitive,
          )
        : undefined,

    /**
     * Login attempts, per email and address pair (LOGIN_MAX_FAILURES in 15 minutes) and per
     * address (LOGIN_MAX_FAILURES_PER_DAY). An attempt's `begin` counts it or refuses it; then
     * exactly one of `failed`, `succeeded` or `release` settles it (`check` does all that).
     */
    login: {
      attempt: loginAttempt,
      /** A password check counted as a login attempt (see `counted`). */
      check: (email: string, ip: string, check: () => Promise<boolean>) =>
        counted(loginAttempt(email, ip), check),
    },

    /** Wrong current passwords in changePassword, per user, counted like failed logins. */
    passwordChange: {
      check: (userId: string, check: () => Promise<boolean>) =>
        counted(passwordAttempt(userId), check),
    },

    /**
     * Whether one more verification or reset email may go to this recipient this hour. A refusal
     * is silent to the client (the answer must not tell whether the account exists).
     */
    async mayEmail(recipient: string): Promise<boolean> {
      try {
        await mailTo.consume(hashed(recipient.toLowerCase()));
        return true;
      } catch (rejection) {
        if (rejection instanceof RateLimiterRes) {
          refusedEmail();
          return false;
        }
        logger.warn(`rate limit store unavailable, email refused: ${String(rejection)}`);
        throw storeUnavailable();
      }
    },

    ready: factory.ready,
    /** Shares the general limit's pending counts now, rather than at the next exchange. */
    exchange: () => general?.exchange(),
    async close(): Promise<void> {
      await general?.close();
      await factory.close();
    },
  };
}

export type Limits = ReturnType<typeof createLimits>;
