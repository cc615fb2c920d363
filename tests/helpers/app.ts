import type { Express } from 'express';
import supertest from 'supertest';
import { loadConfig, type Config } from '../../src/config';
import { openDatabase, type Database, type Dialect } from '../../src/data/database';
import { createApp } from '../../src/http/app';
import { createServices, type Services } from '../../src/services';
import { DIALECTS, createTestDatabase } from './databases';

export interface TestApp {
  dialect: Dialect;
  app: Express;
  config: Config;
  services: Services;
  database: Database;
  request: () => ReturnType<typeof supertest>;
}

/** Settings every test app starts from; a suite overrides what it tests. */
const TEST_ENV: Record<string, string> = {
  JWT_SECRET: 'test-secret-that-is-at-least-32-bytes-long!',
  RATE_LIMIT_PER_MINUTE: '0',
  RATE_LIMIT_SENSITIVE_PER_HOUR: '0',
};

/**
 * The real app over the database at `url`, migrated: one instance, as an operator starts it.
 * `close` releases what it holds, not the database.
 */
export async function startApp(
  dialect: Dialect,
  url: string,
  env: Record<string, string> = {},
): Promise<TestApp & { close(): Promise<void> }> {
  const config = loadConfig({ ...TEST_ENV, ...env, DATABASE_URL: url });
  const database = openDatabase(config.databaseUrl);
  const services = createServices(config, database);
  await database.migrate();
  await services.startup();
  services.health.markReady();
  const app = createApp(services);
  return {
    dialect,
    app,
    config,
    services,
    database,
    request: () => supertest(app),
    async close() {
      await services.close();
      await database.close();
    },
  };
}

/** Builds the real app over a fresh, migrated database of the given dialect. */
export async function buildTestApp(
  dialect: Dialect,
  env: Record<string, string> = {},
): Promise<TestApp & { close(): Promise<void> }> {
  const testDb = await createTestDatabase(dialect);
  const started = await startApp(dialect, testDb.url, env);
  return {
    ...started,
    async close() {
      await started.close();
      await testDb.drop();
    },
  };
}

/**
 * Runs a block of tests once per dialect, each on a database of its own:
 * `describeEachDatabase('courses', (t) => { it('...', async () => t().request()...) })`.
 */
export function describeEachDatabase(
  name: string,
  body: (current: () => TestApp) => void,
  env: Record<string, string> = {},
): void {
  describe.each(DIALECTS)(`${name} [%s]`, (dialect) => {
    let testApp: (TestApp & { close(): Promise<void> }) | undefined;
    beforeAll(async () => {
      testApp = await buildTestApp(dialect, env);
    });
    afterAll(async () => {
      await testApp?.close();
    });
    body(() => {
      if (!testApp) throw new Error('the test app is not built yet');
      return testApp;
    });
  });
}
