import { Redis } from 'ioredis';
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
import { HttpProblem } from '../errors';
import { logger } from '../logger';

/** Where a client stands against one limit: what the RateLimit-* headers say. */
export interface LimitState {
  limit: number;
  remaining: number;
  resetSeconds: number;
}

const LOGIN_WINDOW_S = 15 * 60;
const DAY_S = 24 * 60 * 60;

/**
 * Counters shared by every instance: in PostgreSQL (our `rate_limits` table, made by a migration)
 * or Redis where REDIS_URL is set; in memory on SQLite, which is a single process.
 */
function limiterFactory(config: Config, database: Database) {
  const redis = config.redisUrl
    ? new Redis(config.redisUrl, { enableOfflineQueue: false, lazyConnect: false })
    : undefined;
  redis?.on('error', (err: Error) => logger.warn(`redis: ${err.message}`));
  let first = true;
  const make = (opts: IRateLimiterOptions): RateLimiterAbstract => {
    if (redis) return new RateLimiterRedis({ ...opts, storeClient: redis });
    if (database.pool) {
      // Only one limiter needs to sweep expired rows: they all share the table.
      const sweep = first;
      first = false;
      return new RateLimiterPostgres({
        ...opts,
        storeClient: database.pool,
        tableName: 'rate_limits',
        tableCreated: true,
        clearExpiredByTimeout: sweep,
      });
    }
    return new RateLimiterMemory(opts);
  };
  return {
    make,
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

export function tooManyRequests(state: LimitState, detail: string): HttpProblem {
  return new HttpProblem(429, 'rate-limited', detail, {
    headers: { 'Retry-After': String(state.resetSeconds), ...limitHeaders(state) },
  });
}

export function limitHeaders(state: LimitState): Record<string, string> {
  return {
    'RateLimit-Limit': String(state.limit),
    'RateLimit-Remaining': String(state.remaining),
    'RateLimit-Reset': String(state.resetSeconds),
  };
}

/** A store that cannot be reached must not take the API down with it: the request goes on. */
async function consumeOpen(limiter: RateLimiterAbstract, key: string, limit: number) {
  try {
    return { allowed: true, state: stateOf(await limiter.consume(key), limit) };
  } catch (rejection) {
    if (rejection instanceof RateLimiterRes)
      return { allowed: false, state: stateOf(rejection, limit) };
    logger.warn(`rate limit store unavailable: ${(rejection as Error).message}`);
    return { allowed: true, state: undefined };
  }
}

export function createLimits(config: Config, database: Database) {
  const factory = limiterFactory(config, database);
  const perMinute = config.rateLimitPerMinute;
  const perHour = config.rateLimitSensitivePerHour;
  const general =
    perMinute > 0 ? factory.make({ keyPrefix: 'ip', points: perMinute, duration: 60 }) : undefined;
  const sensitive =
    perHour > 0
      ? factory.make({ keyPrefix: 'sensitive', points: perHour, duration: 3600 })
      : undefined;
  const loginPair = factory.make({
    keyPrefix: 'login',
    points: config.loginMaxFailures,
    duration: LOGIN_WINDOW_S,
  });
  const loginDaily = factory.make({
    keyPrefix: 'login-day',
    points: config.loginMaxFailuresPerDay,
    duration: DAY_S,
  });
  const pairKey = (email: string, ip: string) => `${email.toLowerCase()}|${ip}`;

  return {
    /** RATE_LIMIT_PER_MINUTE per client address, over every route. */
    general: (ip: string) => (general ? consumeOpen(general, ip, perMinute) : undefined),
    /** RATE_LIMIT_SENSITIVE_PER_HOUR per address, on routes that send email or create accounts. */
    sensitive: (ip: string) => (sensitive ? consumeOpen(sensitive, ip, perHour) : undefined),

    login: {
      /**
       * Refuses a login attempt, right password or not, while the email and address pair has
       * LOGIN_MAX_FAILURES failures in its window, or the address its daily failures.
       */
      async assertAllowed(email: string, ip: string): Promise<void> {
        const [pair, daily] = await Promise.all([
          loginPair.get(pairKey(email, ip)),
          loginDaily.get(ip),
        ]);
        if (pair && pair.consumedPoints >= config.loginMaxFailures) {
          throw tooManyRequests(
            stateOf(pair, config.loginMaxFailures),
            'Too many failed logins for this account from your address; try again later.',
          );
        }
        if (daily && daily.consumedPoints >= config.loginMaxFailuresPerDay) {
          throw tooManyRequests(
            stateOf(daily, config.loginMaxFailuresPerDay),
            'Too many failed logins from your address today.',
          );
        }
      },
      /** Counts a failed login; where the pair stands afterwards, for the RateLimit headers. */
      async recordFailure(email: string, ip: string): Promise<LimitState> {
        const key = pairKey(email, ip);
        const max = config.loginMaxFailures;
        const [pair] = await Promise.all([loginPair.penalty(key), loginDaily.penalty(ip)]);
        if (pair.consumedPoints < max) return stateOf(pair, max);
        // The lock-out lasts its full 15 minutes from the failure that reached the limit, not
        // from the first failure of the window.
        await loginPair.block(key, LOGIN_WINDOW_S);
        return { limit: max, remaining: 0, resetSeconds: LOGIN_WINDOW_S };
      },
      async recordSuccess(email: string, ip: string): Promise<LimitState> {
        await loginPair.delete(pairKey(email, ip));
        const max = config.loginMaxFailures;
        return { limit: max, remaining: max, resetSeconds: LOGIN_WINDOW_S };
      },
    },
    ready: factory.ready,
    close: factory.close,
  };
}

export type Limits = ReturnType<typeof createLimits>;
