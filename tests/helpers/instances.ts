import supertest from 'supertest';
import { loadConfig } from '../../src/config';
import { openDatabase } from '../../src/data/database';
import { createApp } from '../../src/http/app';
import { createServices } from '../../src/services';
import type { TestApp } from './app';
import { createTestDatabase } from './databases';

/** The settings buildTestApp starts from (tests/helpers/app.ts), for apps built here. */
const TEST_ENV: Record<string, string> = {
  JWT_SECRET: 'test-secret-that-is-at-least-32-bytes-long!',
  RATE_LIMIT_PER_MINUTE: '0',
  RATE_LIMIT_SENSITIVE_PER_HOUR: '0',
};

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
  const built: { instance: TestApp; close(): Promise<void> }[] = [];
  for (let i = 0; i < count; i++) {
    const config = loadConfig({ ...TEST_ENV, ...env, DATABASE_URL: testDb.url });
    const database = openDatabase(config.databaseUrl);
    const services = createServices(config, database);
    await database.migrate();
    await services.startup();
    services.health.markReady();
    const app = createApp(services);
    built.push({
      instance: {
        dialect: 'postgresql',
        app,
        config,
        services,
        database,
        request: () => supertest(app),
      },
      async close() {
        await services.close();
        await database.close();
      },
    });
  }
  return {
    instances: built.map((b) => b.instance),
    async close() {
      await Promise.all(built.map((b) => b.close()));
      await testDb.drop();
    },
  };
}
