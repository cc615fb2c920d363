import { openDatabase, type Database } from '../../src/data/database';
import { SEARCH_WINDOW } from '../../src/data/search';
import {
  explainOutline,
  explainPages,
  explainRoster,
  explainSearches,
  SEARCH_TERMS,
  type OutlinePlans,
  type Plan,
  type RosterPlans,
} from '../../scripts/explain';
import { seed, seedRosterCourse } from '../../scripts/seed';
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

/** The buffers a whole plan touched: its top node's shared hits and reads. */
function buffersOf(plan: string): number {
  const top = /Buffers: shared((?: \w+=\d+)+)/.exec(plan)?.[1] ?? '';
  const count = (kind: string) => Number(new RegExp(`${kind}=(\\d+)`).exec(top)?.[1] ?? 0);
  return count('hit') + count('read');
}

/** The rows every node of a plan gave, summed: what executing it touched. */
const rowsOf = (plan: string) => nodes(plan).reduce((sum, { rows }) => sum + rows, 0);

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

  it('reads a page of one language, first or deep, in order from its own index: no Sort', async () => {
    // The seed writes some 8% of courses in `fr` or `fr-CA`: about 1,300 published ones here.
    const plans = await explainPages(database, { language: 'fr' });
    expect(plans.depth).toBeGreaterThan(500);
    for (const plan of [plans.firstPage, plans.deepPage]) {
      expect(plan).toMatch(/Index Scan Backward using courses_language_created_at_idx on courses/);
      expect(plan).toMatch(/Index Cond: .*primary_language = /);
      expect(plan).not.toMatch(/Seq Scan on courses/);
      expect(plan).not.toMatch(/\bSort\b/);
      // A page's worth of index entries, at any depth: nothing read and thrown away.
      const walk = nodes(plan).find((n) =>
        n.node.startsWith('Index Scan Backward using courses_language_created_at_idx'),
      );
      expect(walk?.rows).toBe(21);
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

  describe('a course of 20,000 enrollments and 500 lessons', () => {
    const students = 20_000;
    let roster: RosterPlans;
    let outline: OutlinePlans;

    beforeAll(async () => {
      // Every student's completions of a prefix of the lessons: a big open course's long tail,
      // the same mix in every 20 students in a row (see ROSTER_PROGRESS).
      const course = await seedRosterCourse(database, { students, lessons: 500 });
      roster = await explainRoster(database, course.courseId);
      outline = await explainOutline(database, course.courseId);
    }, 180_000);

    it('reads a roster page, first or deep, down the enrollments index, 21 rows of it', () => {
      expect(roster.enrollments).toBe(students);
      expect(roster.depth).toBe(students * 0.9);
      for (const { plan } of [roster.first, roster.deep]) {
        expect(plan).toMatch(
          /Index Scan Backward using enrollments_course_enrolled_at_idx on enrollments\b/,
        );
        expect(plan).not.toMatch(/Seq Scan on (enrollments|lesson_completions|lessons|users)\b/);
        expect(plan).not.toMatch(/Bitmap Heap Scan on (enrollments|lesson_completions)\b/);
        // Rows come in the index's order: nothing is sorted, least of all the whole roster.
        expect(plan).not.toMatch(/\bSort\b/);
        const walk = nodes(plan).find((n) =>
          n.node.startsWith('Index Scan Backward using enrollments_course_enrolled_at_idx'),
        );
        expect(walk?.rows).toBe(21);
      }
      expect(roster.deep.plan).toMatch(/Index Cond: .*ROW\(enrolled_at, id\) < ROW\(/);
    });

    it("counts the page's progress in one query, down the completions' primary key", () => {
      for (const { plan } of [roster.firstProgress, roster.deepProgress]) {
        // Each student's entries of (course_id, user_id, lesson_id), walked once; the course's
        // published lessons read once from their own index and hashed, not probed per completion.
        expect(plan).toMatch(
          /(Index (Only )?Scan using|Bitmap Index Scan on) lesson_completions_course_id_user_id_lesson_id_pk\b/,
        );
        expect(plan).toMatch(/lessons_course_id_idx/);
        expect(plan).not.toMatch(/Seq Scan on (lesson_completions|lessons)\b/);
        expect(plan).not.toMatch(/Index Scan using lessons_pkey/);
      }
    });

    it('costs about as much deep down the roster as at its top', () => {
      // Every 20 students in a row hold the same mix of progress, so any two pages do the same
      // work: within 2x, whatever the page's 21st student (0 or 500 completions).
      const cost = (page: Plan, progress: Plan) => ({
        rows: rowsOf(page.plan) + rowsOf(progress.plan),
        buffers: buffersOf(page.plan) + buffersOf(progress.plan),
      });
      const first = cost(roster.first, roster.firstProgress);
      const deep = cost(roster.deep, roster.deepProgress);
      expect(first.buffers).toBeGreaterThan(0);
      for (const measure of ['rows', 'buffers'] as const) {
        expect(deep[measure]).toBeLessThanOrEqual(2 * first[measure]);
        expect(first[measure]).toBeLessThanOrEqual(2 * deep[measure]);
      }
    });

    it("reads a student's outline from the course's own lessons, never the whole table", () => {
      // The seed's 20,000 courses hold some 600,000 lessons; this course 505 (5 of them drafts).
      const plan = outline.lessons.plan;
      expect(plan).not.toMatch(/Seq Scan on (lessons|lesson_completions)\b/);
      expect(plan).toMatch(/(using|on) lessons_course_id_idx/);
      for (const { node, rows } of nodes(plan)) {
        if (/ on lessons\b/.test(node)) expect(rows).toBeLessThanOrEqual(505);
      }
    });

    it("reads an outline's sections by their course, whatever the number of sections", () => {
      // Both queries of an outline find the course's sections through (course_id, position).
      // Joined to lessons by id alone, the lessons' query either hashes every section of the
      // database (100,000 here: a cost that grows with other courses) or looks a section up per
      // lesson, whichever the statistics of the moment favour.
      for (const plan of [outline.sections.plan, outline.lessons.plan]) {
        expect(plan).not.toMatch(/Seq Scan on sections\b/);
        expect(plan).toMatch(
          /Scan (Backward )?using sections_course_position_key on sections\b|Bitmap Index Scan on sections_course_position_key/,
        );
      }
    });
  });
});
