import supertest from 'supertest';
import { loadConfig } from '../../src/config';
import { openDatabase } from '../../src/data/database';
import { createApp } from '../../src/http/app';
import { createServices } from '../../src/services';

// A PostgreSQL that is not there: nothing listens on port 1.
describe('a database lost while serving', () => {
  const config = loadConfig({
    DATABASE_URL: 'postgres://postgres@127.0.0.1:1/gone',
    JWT_SECRET: 'test-secret-that-is-at-least-32-bytes-long!',
  });
  const database = openDatabase(config.databaseUrl);
  const services = createServices(config, database);
  services.health.markReady();
  const app = createApp(services);

  afterAll(async () => {
    await services.close();
    await database.close();
  });

  it('turns /health/ready to 503 with Retry-After, while /health/live stays 200', async () => {
    const ready = await supertest(app).get('/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.headers['retry-after']).toBe('5');
    expect(ready.body.type).toBe('https://opencourse.dev/problems/service-unavailable');
    expect((await supertest(app).get('/health/live')).status).toBe(200);
  });

  it('fails a request that needs the database fast, with a 503 problem, not a 500', async () => {
    const started = Date.now();
    const res = await supertest(app).get('/api/v1/courses');
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.body.detail).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('a database not migrated yet', () => {
  it('answers 503 on the API until start-up has finished', async () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/gone' });
    const database = openDatabase(config.databaseUrl);
    const services = createServices(config, database);
    const app = createApp(services);
    const res = await supertest(app).get('/api/v1/courses');
    expect(res.status).toBe(503);
    expect((await supertest(app).get('/api/v1/openapi.json')).status).toBe(200);
    expect((await supertest(app).get('/health/ready')).status).toBe(503);
    await services.close();
    await database.close();
  });
});
