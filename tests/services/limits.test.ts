import { loadConfig } from '../../src/config';
import { openDatabase, type Database } from '../../src/data/database';
import { HttpProblem } from '../../src/errors';
import { createLimits, type Limits } from '../../src/services/limits';
import { createTestDatabase, type TestDatabase } from '../helpers/databases';

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
  const limits: Limits[] = databases.map((db) => createLimits(loadConfig(env), db));
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

describe.each(['postgresql', 'redis'] as const)('rate limits shared in %s', (store) => {
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

  it('count requests from one address across instances', async () => {
    const [a, b] = ctx.limits as [Limits, Limits];
    expect((await a.general(ip))?.allowed).toBe(true);
    expect((await b.general(ip))?.allowed).toBe(true);
    const third = await a.general(ip);
    expect(third).toMatchObject({ allowed: true, state: { limit: 3, remaining: 0 } });
    const fourth = await b.general(ip);
    expect(fourth?.allowed).toBe(false);
    expect(fourth?.state?.resetSeconds).toBeGreaterThan(0);
  });

  it('lock an email and address pair out after the failures, on every instance', async () => {
    const [a, b] = ctx.limits as [Limits, Limits];
    await a.login.assertAllowed('ada@example.com', ip);
    await a.login.recordFailure('ada@example.com', ip);
    await b.login.recordFailure('ADA@example.com', ip);
    const refused = await b.login.assertAllowed('ada@example.com', ip).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(HttpProblem);
    expect((refused as HttpProblem).status).toBe(429);
    expect(Number((refused as HttpProblem).extra.headers?.['Retry-After'])).toBeGreaterThan(800);
    // Another email from the same address is not locked by this pair...
    await expect(a.login.assertAllowed('bob@example.com', ip)).resolves.toBeUndefined();
    // ...until the address reaches its daily failures across all emails.
    await a.login.recordFailure('bob@example.com', ip);
    await expect(a.login.assertAllowed('carol@example.com', ip)).rejects.toMatchObject({
      status: 429,
    });
  });

  it('forget the failures of a pair after a success', async () => {
    const [a, b] = ctx.limits as [Limits, Limits];
    await a.login.recordFailure('dan@example.com', ip);
    await b.login.recordSuccess('dan@example.com', ip);
    await a.login.recordFailure('dan@example.com', ip);
    await expect(b.login.assertAllowed('dan@example.com', ip)).resolves.toBeUndefined();
  });
});

describe('rate limits on SQLite', () => {
  it('live in the process and can be turned off with 0', async () => {
    const testDb = await createTestDatabase('sqlite');
    const database = openDatabase(testDb.url);
    const off = createLimits(
      loadConfig({ RATE_LIMIT_PER_MINUTE: '0', DATABASE_URL: testDb.url }),
      database,
    );
    expect(off.general('1.2.3.4')).toBeUndefined();
    const on = createLimits(loadConfig({ ...SETTINGS, DATABASE_URL: testDb.url }), database);
    for (let i = 0; i < 3; i++) expect((await on.general('1.2.3.4'))?.allowed).toBe(true);
    expect((await on.general('1.2.3.4'))?.allowed).toBe(false);
    await database.close();
    await testDb.drop();
  });
});
