import { startApp, type TestApp } from './app';
import { createTestDatabase } from './databases';

/**
 * Several instances of the real app over one fresh PostgreSQL database, as operators run them:
 * each with its own pool, services and limiter stores, sharing only what the database (or
 * Redis, where `REDIS_URL` is set) shares.
 */
export async function buildInstances(
  count: number,
  env: Record<string, string> = {},
): Promise<{ instances: TestApp[]; close(): Promise<void> }> {
  const testDb = await createTestDatabase('postgresql');
  const built: (TestApp & { close(): Promise<void> })[] = [];
  for (let i = 0; i < count; i++) built.push(await startApp('postgresql', testDb.url, env));
  return {
    instances: built,
    async close() {
      await Promise.all(built.map((b) => b.close()));
      await testDb.drop();
    },
  };
}
