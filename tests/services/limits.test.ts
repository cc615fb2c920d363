import { loadConfig } from '../../src/config';
import { openDatabase, type Database } from '../../src/data/database';
import { HttpProblem } from '../../src/errors';
import { createMetrics } from '../../src/observability/metrics';
import { createLimits, type Limits } from '../../src/services/limits';
import { DIALECTS, createTestDatabase, type TestDatabase } from '../helpers/databases';
import { withinOneMinuteWindow } from '../helpers/windows';

const SETTINGS = {
  RATE_LIMIT_PER_MINUTE: '3',
  LOGIN_MAX_FAILURES: '2',
  LOGIN_MAX_FAILURES_PER_DAY: '3',
};

/** Two "instances": separate limiters (and, on PostgreSQL, separate pools) on one store. */
async function twoInstances(store: 'postgresql' | 'redis') {
  const testDb: TestDatabase = await createTestDatabase('postgresql');
  const env = {
    ...SETTINGS,
    DATABASE_URL: testDb.url,
    ...(store === 'redis' ? { REDIS_URL: 'redis://127.0.0.1:6379' } : {}),
  };
  const databases: Database[] = [openDatabase(testDb.url), openDatabase(testDb.url)];
  await databases[0]!.migrate();
  const limits: Limits[] = databases.map((db) =>
    createLimits(loadConfig(env), db, createMetrics(db)),
  );
  await Promise.all(limits.map((l) => l.ready()));
  return {
    limits,
    async close() {
      await Promise.all(limits.map((l) => l.close()));
      await Promise.all(databases.map((db) => db.close()));
      await testDb.drop();
    },
  };
}

// The shared stores need PostgreSQL: skipped where TEST_DIALECTS leaves it out.
const describeShared = DIALECTS.includes('postgresql') ? describe.each : describe.skip.each;

describeShared(['postgresql', 'redis'] as const)('rate limits shared in %s', (store) => {
  let ctx: Awaited<ReturnType<typeof twoInstances>>;
  // A fresh address per test keeps Redis keys of earlier runs out of the way.
  let ip: string;
  beforeAll(async () => {
    ctx = await twoInstances(store);
  });
  beforeEach(() => {
    ip = `10.0.0.${Math.floor(Math.random() * 250)}-${Date.now()}`;
  });
  afterAll(() => ctx.close());

  it('count requests from one address in memory and share the counts in batches', async () => {
    const [a, b] = ctx.limits as [Limits, Limits];
    expect(a.general(ip)).toMatchObject({ allowed: true, state: { limit: 3, remaining: 2 } });
    expect(a.general(ip)).toMatchObject({ allowed: true, state: { remaining: 1 } });
    await a.exchange();
    // b has not heard of this address yet: it decides on what it knows...
    expect(b.general(ip)).toMatchObject({ allowed: true, state: { remaining: 2 } });
    // ...until its next exchange brings the total of both (3).
    await b.exchange();
    const refused = b.general(ip);
    expect(refused).toMatchObject({ allowed: false, state: { remaining: 0 } });
    expect(refused?.state.resetSeconds).toBeGreaterThan(0);
    expect(refused?.state.resetSeconds).toBeLessThanOrEqual(60);
    expect(a.general(ip)?.allowed).toBe(true);
    await a.exchange();
    expect(a.general(ip)?.allowed).toBe(false);
  });

  it('share a batch of 25,000 addresses in one exchange, whatever they hold', async () => {
    const [a, b] = ctx.limits as [Limits, Limits];
    // Counts are per minute: both instances must count in the same one.
    await withinOneMinuteWindow(15_000);
    // IPv6 /64 keys, quotes, commas, braces and backslashes: nothing in a key may break the
    // batch that carries it.
    const odd = [`${ip}:2001:db8::/64`, `${ip}"q,{}\\`, `${ip} ¿ü?`];
    // More than 65,535 / 3: as many rows as that once took more parameters than PostgreSQL binds.
    const many = Array.from({ length: 25_000 }, (_, i) => `${ip}-${i}`);
    for (const key of [...odd, ...many]) {
      a.general(key);
      a.general(key);
    }
    await a.exchange();
    for (const key of [...odd, ...many]) b.general(key);
    await b.exchange();
    // The limit is 3: two from a and one from b, so each key is spent everywhere.
    for (const key of [...odd, many[0]!, many[24_999]!]) {
      expect(b.general(key)).toMatchObject({ allowed: false, state: { remaining: 0 } });
    }
    expect(b.general(many[12_500]!)?.allowed).toBe(false);
  }, 30_000);

  it('lock an email and address pair out after the failures, on every instance', async () => {
    const [a, b] = ctx.limits as [Limits, Limits];
    const first = await a.login.attempt('ada@example.com', ip).begin();
    expect(first.remaining).toBe(1);
    await a.login.attempt('ada@example.com', ip).failed(first);
    const second = await b.login.attempt('ADA@example.com', ip).begin();
    expect(second.remaining).toBe(0);
    // The attempt that used the last point locks the pair out for the whole window from now.
    expect(await b.login.attempt('ada@example.com', ip).failed(second)).toMatchObject({
      remaining: 0,
    });
    const refused = await b.login
      .attempt('ada@example.com', ip)
      .begin()
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(HttpProblem);
    expect((refused as HttpProblem).status).toBe(429);
    expect((refused as HttpProblem).extra.retryAfter).toBeGreaterThan(800);
    // Another email from the same address is not locked by this pair...
    await expect(a.login.attempt('bob@example.com', ip).begin()).resolves.toMatchObject({
      remaining: 1,
    });
    // ...until the address has spent its daily attempts (3) across all emails.
    await expect(a.login.attempt('carol@example.com', ip).begin()).rejects.toMatchObject({
      status: 429,
    });
  });

  it('give the attempt back on success, and forget the failures of the pair', async () => {
    const [a, b] = ctx.limits as [Limits, Limits];
    await a.login
      .attempt('dan@example.com', ip)
      .failed(await a.login.attempt('dan@example.com', ip).begin());
    await b.login.attempt('dan@example.com', ip).begin();
    await b.login.attempt('dan@example.com', ip).succeeded();
    await expect(a.login.attempt('dan@example.com', ip).begin()).resolves.toMatchObject({
      remaining: 1,
    });
    // Two successes later, the daily count holds only the one failure and this attempt.
    await a.login.attempt('dan@example.com', ip).succeeded();
    await a.login.attempt('erin@example.com', ip).begin();
    await expect(b.login.attempt('fay@example.com', ip).begin()).resolves.toBeDefined();
  });

  it('store keys of any length the document accepts (long emails are hashed)', async () => {
    const [a] = ctx.limits as [Limits];
    // Unique per run, like the addresses: the recipient's count outlives a run in Redis.
    const label = String(Date.now()).padEnd(57, 'd');
    const email = `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${label}.example`;
    expect(email.length).toBeGreaterThan(250);
    await expect(a.login.attempt(email, ip).begin()).resolves.toMatchObject({ limit: 2 });
    await expect(a.mayEmail(email)).resolves.toBe(true);
  });

  it('limit emails to one recipient to 5 an hour across instances, whatever the case', async () => {
    const [a, b] = ctx.limits as [Limits, Limits];
    const recipient = `mail-${ip}@example.com`;
    const answers = [];
    for (let i = 0; i < 7; i++)
      answers.push(await (i % 2 ? a : b).mayEmail(i % 3 ? recipient : recipient.toUpperCase()));
    expect(answers).toEqual([true, true, true, true, true, false, false]);
  });

  it('count IPv6 clients per /64 and IPv4 clients per address', async () => {
    const [a, b] = ctx.limits as [Limits, Limits];
    const net = `2001:db8:${Math.floor(Math.random() * 0xffff).toString(16)}:1`;
    a.general(`${net}::1`);
    a.general(`${net}:0:0:0:ffff`);
    await a.exchange();
    b.general(`${net}::2`);
    await b.exchange();
    expect(b.general(`${net}::3`)?.allowed).toBe(false);
    expect(a.general(`${net.replace(/:1$/, ':2')}::1`)?.allowed).toBe(true);
  });
});

describe('rate limits on SQLite', () => {
  it('live in the process and can be turned off with 0', async () => {
    const testDb = await createTestDatabase('sqlite');
    const database = openDatabase(testDb.url);
    const off = createLimits(
      loadConfig({ RATE_LIMIT_PER_MINUTE: '0', DATABASE_URL: testDb.url }),
      database,
      createMetrics(),
    );
    expect(await off.general('1.2.3.4')).toBeUndefined();
    const on = createLimits(
      loadConfig({ ...SETTINGS, DATABASE_URL: testDb.url }),
      database,
      createMetrics(),
    );
    for (let i = 0; i < 3; i++) expect((await on.general('1.2.3.4'))?.allowed).toBe(true);
    expect((await on.general('1.2.3.4'))?.allowed).toBe(false);
    await database.close();
    await testDb.drop();
  });
});

(DIALECTS.includes('postgresql') ? describe : describe.skip)(
  'rate limit counters on PostgreSQL',
  () => {
    it('commit without waiting for the WAL flush, seen at once by other connections', async () => {
      const testDb = await createTestDatabase('postgresql');
      const database = openDatabase(testDb.url);
      try {
        await database.migrate();
        const limits = createLimits(
          loadConfig({ ...SETTINGS, DATABASE_URL: testDb.url }),
          database,
          createMetrics(database),
        );
        await limits.login.attempt('ada@example.com', '10.1.2.3').begin();
        // The count is there for every other connection (another instance's) as soon as it returns.
        const { rows } = await database.pool!.query<{ points: number }>(
          "SELECT points FROM rate_limits WHERE key LIKE 'login-day:%'",
        );
        expect(rows).toEqual([{ points: 1 }]);
        const setting = async (pool: import('pg').Pool) =>
          (await pool.query<{ synchronous_commit: string }>('SHOW synchronous_commit')).rows[0]
            ?.synchronous_commit;
        // Counters skip the flush; users, sessions and the rest still wait for it.
        expect(await setting(database.counterPool!)).toBe('off');
        expect(await setting(database.pool!)).toBe('on');
        await limits.close();
      } finally {
        await database.close();
        await testDb.drop();
      }
    });
  },
);
