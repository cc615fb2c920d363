import { openDatabase, type Database } from '../../src/data/database';
import { SEARCH_WINDOW } from '../../src/data/search';
import { explainPages, explainSearches, SEARCH_TERMS, type Plan } from '../../scripts/explain';
import { seed } from '../../scripts/seed';
import { DIALECTS, createTestDatabase, type TestDatabase } from '../helpers/databases';

// Plans only mean something on PostgreSQL; SQLite runs skip this suite.
const onPostgres = DIALECTS.includes('postgresql') ? describe : describe.skip;

/** Each plan node's name and the rows it gave in all (rows × loops); never-run nodes give 0. */
function nodes(plan: string): { node: string; rows: number }[] {
  return plan.split('\n').flatMap((line) => {
    const node = /^\s*(?:->\s+)?([A-Z][^(]*?)\s+\(cost=/.exec(line)?.[1];
    if (!node) return [];
    const actual = /actual time=[\d.]+\.\.[\d.]+ rows=(\d+) loops=(\d+)/.exec(line);
    return [{ node, rows: actual ? Number(actual[1]) * Number(actual[2]) : 0 }];
  });
}

onPostgres('the listCourses plans on PostgreSQL', () => {
  let testDb: TestDatabase;
  let database: Database;

  beforeAll(async () => {
    testDb = await createTestDatabase('postgresql');
    database = openDatabase(testDb.url);
    await database.migrate();
    // The seed ends with VACUUM (ANALYZE), as a database seeded for measuring does.
    await seed(database, { courses: 20_000, users: 200 });
  }, 180_000);

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

  describe('a title search, whatever the term and the sort', () => {
    let plans: Plan[];
    const planOf = (kind: keyof typeof SEARCH_TERMS, sort: string) =>
      plans.find((p) => p.name === `search ${kind} "${SEARCH_TERMS[kind]}", sort ${sort}`)!.plan;

    beforeAll(async () => {
      plans = await explainSearches(database);
      expect(plans).toHaveLength(10);
    });

    it('never scans courses, nor fetches its matches unordered, and reads at most a window', () => {
      const overreach: string[] = [];
      for (const { name, plan } of plans) {
        if (/Seq Scan on courses\b|Bitmap Heap Scan on courses\b/.test(plan)) overreach.push(name);
        for (const { node, rows } of nodes(plan)) {
          // Every index walk stops at the window; every sort sorts a page's worth of rows (the
          // seed's terms expand to one word or two).
          const walk = /Scan.* on (courses|course_title_words)\b/.test(node);
          if (walk && rows > SEARCH_WINDOW + 1) overreach.push(`${name}: ${node}, ${rows} rows`);
          if (/^Sort\b/.test(node) && rows > 2 * 21 + 1) overreach.push(`${name}: ${rows} sorted`);
        }
      }
      expect(overreach).toEqual([]);
    });

    it('looks a term up by word, in the listing order, without walking courses', () => {
      for (const kind of ['common', 'rare', 'phrase', 'absent'] as const) {
        const byDate = planOf(kind, '-createdAt');
        const byTitle = planOf(kind, 'title');
        // The vocabulary, then each word's courses out of an index in the listing's order.
        expect(byDate).toMatch(/on course_title_vocabulary/);
        if (kind !== 'absent') {
          expect(byDate).toMatch(
            /Index Only Scan Backward using course_title_words_created_at_idx on course_title_words/,
          );
          expect(byTitle).toMatch(
            /Index Only Scan using course_title_words_title_idx on course_title_words/,
          );
        }
        // The walk down courses is in the plan, but gated off: it never runs.
        expect(byDate).toMatch(
          /Index Scan Backward using courses_status_created_at_idx on courses courses_1 .*\(never executed\)/,
        );
        expect(byTitle).toMatch(
          /Index Only Scan using courses_status_title_idx on courses courses_1 .*\(never executed\)/,
        );
      }
      // A word, common or rare, fills its page from about as many entries as the page shows.
      for (const kind of ['common', 'rare'] as const) {
        const entries = nodes(planOf(kind, '-createdAt')).find((n) =>
          n.node.startsWith('Index Only Scan Backward using course_title_words_created_at_idx'),
        );
        expect(entries?.rows).toBeLessThanOrEqual(2 * 21);
      }
      // A phrase walks its rarer word ("399": 50 courses here), not the common one ("genetics").
      const phrase = nodes(planOf('phrase', 'title')).find((n) =>
        n.node.startsWith('Index Only Scan using course_title_words_title_idx'),
      );
      expect(phrase?.rows).toBeLessThan(200);
    });

    it('walks a term too short to look up, down the listing index, a window at most', () => {
      const byDate = planOf('short', '-createdAt');
      const byTitle = planOf('short', 'title');
      for (const plan of [byDate, byTitle]) expect(plan).not.toMatch(/course_title_words/);
      expect(byDate).toMatch(/Index Scan Backward using courses_status_created_at_idx on courses/);
      expect(byTitle).toMatch(/Index Only Scan using courses_status_title_idx on courses/);
    });
  });
});
