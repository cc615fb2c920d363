import { openDatabase, type Database } from '../../src/data/database';
import { explainPages } from '../../scripts/explain';
import { seed } from '../../scripts/seed';
import { DIALECTS, createTestDatabase, type TestDatabase } from '../helpers/databases';

// Plans only mean something on PostgreSQL; SQLite runs skip this suite.
const onPostgres = DIALECTS.includes('postgresql') ? describe : describe.skip;

onPostgres('the listCourses page plan on PostgreSQL', () => {
  let testDb: TestDatabase;
  let database: Database;

  beforeAll(async () => {
    testDb = await createTestDatabase('postgresql');
    database = openDatabase(testDb.url);
    await database.migrate();
    await seed(database, { courses: 20_000, users: 200 });
  }, 120_000);

  afterAll(async () => {
    await database?.close();
    await testDb?.drop();
  });

  it('reads a deep page straight from the index: no Seq Scan, no Sort', async () => {
    const plans = await explainPages(database);
    expect(plans.depth).toBeGreaterThan(10_000);
    for (const plan of [plans.firstPage, plans.deepPage]) {
      expect(plan).toMatch(/Index Scan Backward using courses_status_created_at_idx on courses/);
      expect(plan).not.toMatch(/Seq Scan on courses/);
      expect(plan).not.toMatch(/\bSort\b/);
    }
    expect(plans.deepPage).toMatch(/Index Cond: .*ROW\(created_at, id\) < ROW\(/);
  });
});
