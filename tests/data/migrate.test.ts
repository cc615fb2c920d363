import { readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { openDatabase } from '../../src/data/database';
import { DIALECTS, createTestDatabase } from '../helpers/databases';

const journal = (dialect: string) =>
  JSON.parse(
    readFileSync(path.join(__dirname, `../../drizzle/${dialect}/meta/_journal.json`), 'utf8'),
  ).entries as unknown[];

const onPostgres = DIALECTS.includes('postgresql') ? it : it.skip;

describe('migrations at start', () => {
  onPostgres(
    'are applied exactly once when several instances start together on a fresh database',
    async () => {
      const testDb = await createTestDatabase('postgresql');
      const instances = [1, 2, 3, 4].map(() => openDatabase(testDb.url));
      try {
        await Promise.all(instances.map((db) => db.migrate()));
        const client = new pg.Client({ connectionString: testDb.url });
        await client.connect();
        const applied = await client.query(
          'SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations',
        );
        await client.end();
        expect(applied.rows[0].n).toBe(journal('pg').length);
      } finally {
        await Promise.all(instances.map((db) => db.close()));
        await testDb.drop();
      }
    },
  );

  it.each(DIALECTS)('re-run safely on an up-to-date %s database', async (dialect) => {
    const testDb = await createTestDatabase(dialect);
    const database = openDatabase(testDb.url);
    try {
      await database.migrate();
      await database.migrate();
      await database.ping();
    } finally {
      await database.close();
      await testDb.drop();
    }
  });
});
