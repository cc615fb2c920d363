// Shows the plans of listCourses (PostgreSQL only): a page costs the same deep down as at the top,
// and a title search costs what a page costs, whatever the term and the sort. Then those of a
// big course: a roster page (listCourseEnrollments, each row with its progress), first and deep,
// and a student's outline of it (two queries, whatever the number of sections):
//   npm run db:explain [-- --courses 1000000]
// Uses the database DATABASE_URL names, seeding it first when it holds fewer courses than asked,
// and a course of 100,000 enrollments and 500 lessons when it has none (seedRosterCourse).
// Prints each plan (EXPLAIN ANALYZE, BUFFERS), then one line per case with its execution time.
import 'dotenv/config';
import { count, desc, eq, isNull, and, sql, type SQLWrapper } from 'drizzle-orm';
import { loadConfig } from '../src/config';
import { openDatabase, type Database } from '../src/data/database';
import { createContentStore } from '../src/data/content';
import { createCourseStore, type CourseListQuery, type CourseSort } from '../src/data/courses';
import { createEnrollmentStore } from '../src/data/enrollments';
import { findRosterCourse, seed, seedRosterCourse, type RosterOptions } from './seed';

export interface PagePlans {
  firstPage: string;
  deepPage: string;
  /** How many courses precede the deep page's cursor. */
  depth: number;
  /** The deep page's query. */
  deep?: CourseListQuery;
}

/** What is explained: a page of listCourses, or any unexecuted query. */
export type Explained = CourseListQuery | SQLWrapper;

export interface Plan {
  name: string;
  plan: string;
  query: Explained;
}

/** Terms of the seed's titles ("<Adjective> <Subject> <1 to 400>"), from common to absent. */
export const SEARCH_TERMS = {
  common: 'introduction', // one adjective in 12: about 8% of titles
  rare: '399', // one number in 400
  phrase: 'genetics 399', // one subject in 30 and one number in 400: 1 title in 12,000
  absent: 'zebra',
  short: 'zq', // too short to look up by word: the bounded walk
} as const;

async function explain(
  database: Database,
  query: Explained,
  options = 'ANALYZE, BUFFERS',
): Promise<string> {
  const statement = 'getSQL' in query ? query : createCourseStore(database).listQuery(query);
  const result = await database.db.execute(sql`EXPLAIN (${sql.raw(options)}) ${statement}`);
  return (result.rows as { 'QUERY PLAN': string }[]).map((r) => r['QUERY PLAN']).join('\n');
}

const executionMs = (plan: string) => Number(/Execution Time: ([\d.]+) ms/.exec(plan)?.[1] ?? NaN);

/**
 * The median execution time of a page query over `runs` executions, without per-node timing:
 * timing every node costs more than a small plan's own work, and more for plans of more nodes.
 */
export async function medianMs(database: Database, query: Explained, runs = 21) {
  const times: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    times.push(executionMs(await explain(database, query, 'ANALYZE, TIMING OFF')));
  }
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)]!;
}

/**
 * The plans of the first page and of a page ~90% down the default order (-createdAt), of every
 * published course or, with `language` (a primary subtag: `fr`), of the courses in it.
 */
export async function explainPages(
  database: Database,
  filters: { language?: string } = {},
): Promise<PagePlans> {
  if (database.dialect !== 'postgresql') throw new Error('db:explain needs PostgreSQL');
  const { courses } = database.t;
  const { language } = filters;
  const live = and(
    eq(courses.status, 'published'),
    isNull(courses.deletedAt),
    language ? eq(courses.primaryLanguage, language) : undefined,
  );
  await database.db.execute(sql`ANALYZE courses`);
  const [{ total } = { total: 0 }] = await database.db
    .select({ total: count() })
    .from(courses)
    .where(live);
  const depth = Math.floor(Number(total) * 0.9);
  // OFFSET only finds where to put the cursor here; the page query itself never uses it.
  const [position] = await database.db
    .select({ createdAt: courses.createdAt, id: courses.id })
    .from(courses)
    .where(live)
    .orderBy(desc(courses.createdAt), desc(courses.id))
    .offset(depth)
    .limit(1);
  const base = { status: 'published', sort: '-createdAt', limit: 21, language } as const;
  const deep = position && { ...base, after: { value: position.createdAt, id: position.id } };
  return {
    firstPage: await explain(database, base),
    deepPage: deep ? await explain(database, deep) : '(not enough courses for a deep page)',
    depth,
    deep,
  };
}

/**
 * The plans of a first page of title search, for each kind of term, with the default sort
 * (-createdAt) and with `sort=title`, 20 to a page (21 asked: the extra row says more follow).
 */
export async function explainSearches(
  database: Database,
  terms: Record<string, string> = SEARCH_TERMS,
  sorts: CourseSort[] = ['-createdAt', 'title'],
): Promise<Plan[]> {
  if (database.dialect !== 'postgresql') throw new Error('db:explain needs PostgreSQL');
  const plans: Plan[] = [];
  for (const sort of sorts) {
    for (const [kind, q] of Object.entries(terms)) {
      const query = { status: 'published', sort, limit: 21, q } as const;
      plans.push({
        name: `search ${kind} "${q}", sort ${sort}`,
        plan: await explain(database, query),
        query,
      });
    }
  }
  return plans;
}

/** The course `db:explain` measures roster pages and outlines on. */
export const ROSTER: RosterOptions = { students: 100_000, lessons: 500 };

export interface RosterPlans {
  /** The course's enrollments, cancelled ones included (the roster lists both). */
  enrollments: number;
  /** How many enrollments precede the deep page's cursor. */
  depth: number;
  first: Plan;
  deep: Plan;
  /** The second query of each page: its students' completions, counted (see withProgress). */
  firstProgress: Plan;
  deepProgress: Plan;
}

/**
 * The plans of the first page of a course's roster and of a page ~90% down it, newest first, 20
 * to a page (21 asked): listCourseEnrollments' two queries, the page and its students' progress.
 */
export async function explainRoster(database: Database, courseId: string): Promise<RosterPlans> {
  if (database.dialect !== 'postgresql') throw new Error('db:explain needs PostgreSQL');
  const { enrollments } = database.t;
  const store = createEnrollmentStore(database);
  const ofCourse = eq(enrollments.courseId, courseId);
  const [{ total } = { total: 0 }] = await database.db
    .select({ total: count() })
    .from(enrollments)
    .where(ofCourse);
  const depth = Math.floor(Number(total) * 0.9);
  // OFFSET only finds where to put the cursor here; the page query itself never uses it.
  const [position] = await database.db
    .select({ enrolledAt: enrollments.enrolledAt, id: enrollments.id })
    .from(enrollments)
    .where(ofCourse)
    .orderBy(desc(enrollments.enrolledAt), desc(enrollments.id))
    .offset(depth)
    .limit(1);
  if (!position) throw new Error('the course has too few enrollments for a deep roster page');
  const firstQuery = store.listForCourse(courseId, { limit: 21 });
  const deepQuery = store.listForCourse(courseId, { limit: 21, after: position });
  const content = createContentStore(database);
  // Wrapped: an awaited query builder would run, not be returned.
  const progressQuery = async (page: typeof firstQuery) => {
    const userIds = (await page.execute()).map((row) => row.userId);
    return { query: content.completionsQuery({ courseIds: [courseId], userIds }) };
  };
  const [{ query: firstProgress }, { query: deepProgress }] = await Promise.all([
    progressQuery(firstQuery),
    progressQuery(deepQuery),
  ]);
  return {
    firstProgress: {
      name: "roster, first page's progress",
      plan: await explain(database, firstProgress),
      query: firstProgress,
    },
    deepProgress: {
      name: "roster, deep page's progress",
      plan: await explain(database, deepProgress),
      query: deepProgress,
    },
    enrollments: Number(total),
    depth,
    first: {
      name: 'roster, first page',
      plan: await explain(database, firstQuery),
      query: firstQuery,
    },
    deep: {
      name: `roster, deep page, after ${depth} enrollments`,
      plan: await explain(database, deepQuery),
      query: deepQuery,
    },
  };
}

export interface OutlinePlans {
  /** The enrolled student whose outline it is: one of the latest, with the most completions. */
  userId: string;
  sections: Plan;
  lessons: Plan;
}

/**
 * The plans of the two queries behind a student's outline of a course (getCourseOutline): its
 * sections, and its published lessons with the student's completions.
 */
export async function explainOutline(database: Database, courseId: string): Promise<OutlinePlans> {
  if (database.dialect !== 'postgresql') throw new Error('db:explain needs PostgreSQL');
  const { enrollments, lessonCompletions: completions } = database.t;
  const content = createContentStore(database);
  // Among the 100 latest active students, the one who completed the most.
  const latest = database.db
    .select({ userId: enrollments.userId })
    .from(enrollments)
    .where(and(eq(enrollments.courseId, courseId), eq(enrollments.status, 'active')))
    .orderBy(desc(enrollments.enrolledAt))
    .limit(100)
    .as('latest');
  const result = await database.db.execute(
    sql`SELECT ${latest.userId} AS user_id FROM ${latest} ORDER BY (SELECT count(*) FROM ${completions}
        WHERE ${completions.courseId} = ${courseId} AND ${completions.userId} = ${latest.userId}) DESC
        LIMIT 1`,
  );
  const userId = (result.rows as { user_id: string }[])[0]?.user_id;
  if (!userId) throw new Error('the course has no active enrollment');
  const sectionsQuery = content.sectionsOf(courseId);
  const lessonsQuery = content.outlineLessonsOf(courseId, { userId, drafts: false });
  return {
    userId,
    sections: {
      name: 'outline, sections (sectionsOf)',
      plan: await explain(database, sectionsQuery),
      query: sectionsQuery,
    },
    lessons: {
      name: 'outline, lessons with completions (outlineLessonsOf)',
      plan: await explain(database, lessonsQuery),
      query: lessonsQuery,
    },
  };
}

/** Prints the median execution time of each plan's query, and how it compares to the first. */
async function printTimes(database: Database, title: string, plans: Plan[], baseline: string) {
  console.log(`\n${title}`);
  const times = [];
  for (const { name, query } of plans) times.push({ name, ms: await medianMs(database, query) });
  for (const { name, ms } of times) {
    const ratio = (ms / times[0]!.ms).toFixed(1);
    console.log(`  ${name.padEnd(52)} ${ms.toFixed(3).padStart(8)} ms  ${ratio}x ${baseline}`);
  }
}

async function main() {
  const at = process.argv.indexOf('--courses');
  const wanted = at >= 0 ? Number(process.argv[at + 1]) : 100_000;
  const config = loadConfig();
  const database = openDatabase(config.databaseUrl);
  try {
    await database.migrate();
    const { courses } = database.t;
    const [{ total } = { total: 0 }] = await database.db.select({ total: count() }).from(courses);
    if (Number(total) < wanted) {
      console.log(`Seeding ${wanted - Number(total)} courses first...`);
      await seed(database, { courses: wanted - Number(total) });
    }
    const pages = await explainPages(database);
    const french = await explainPages(database, { language: 'fr' });
    const first = { status: 'published', sort: '-createdAt', limit: 21 } as const;
    const pagePlans = (p: PagePlans, what: string): Plan[] =>
      p.deep
        ? [{ name: `deep page, after ${p.depth} ${what}`, plan: p.deepPage, query: p.deep }]
        : [];
    const plans: Plan[] = [
      { name: 'first page, sort -createdAt', plan: pages.firstPage, query: first },
      ...pagePlans(pages, 'courses'),
      {
        name: 'first page, language=fr',
        plan: french.firstPage,
        query: { ...first, language: 'fr' },
      },
      ...pagePlans(french, 'courses in fr'),
      ...(await explainSearches(database)),
    ];
    let rosterId = await findRosterCourse(database, ROSTER);
    if (!rosterId) {
      console.log(
        `Seeding a course of ${ROSTER.students} students and ${ROSTER.lessons} lessons first...`,
      );
      const log = (line: string) => console.log(`  ${line}`);
      rosterId = (await seedRosterCourse(database, { ...ROSTER, log })).courseId;
    }
    await database.db.execute(sql`ANALYZE enrollments, lesson_completions, lessons, sections`);
    const roster = await explainRoster(database, rosterId);
    const outline = await explainOutline(database, rosterId);
    const big: Plan[] = [
      roster.first,
      roster.firstProgress,
      roster.deep,
      roster.deepProgress,
      outline.sections,
      outline.lessons,
    ];
    for (const { name, plan } of [...plans, ...big]) console.log(`\n${name}:\n${plan}`);
    const seeded = Math.max(Number(total), wanted);
    await printTimes(
      database,
      `Execution times, median of 21 (${seeded} courses or more; 20 to a page):`,
      plans,
      'the first page',
    );
    await printTimes(
      database,
      `A course of ${roster.enrollments} enrollments and ${ROSTER.lessons} lessons, median of 21 ` +
        '(20 students to a page, each with their progress):',
      big,
      'its first roster page',
    );
  } finally {
    await database.close();
  }
}

if (require.main === module) {
  main().catch((err: Error) => {
    console.error(`Explain failed: ${err.message}`);
    process.exit(1);
  });
}
