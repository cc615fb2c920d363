// Shows the plans of listCourses (PostgreSQL only): a page costs the same deep down as at the top,
// and a title search costs what a page costs, whatever the term and the sort:
//   npm run db:explain [-- --courses 1000000]
// Uses the database DATABASE_URL names, seeding it first when it holds fewer courses than asked.
// Prints each plan (EXPLAIN ANALYZE, BUFFERS), then one line per case with its execution time.
import 'dotenv/config';
import { count, desc, eq, isNull, and, sql } from 'drizzle-orm';
import { loadConfig } from '../src/config';
import { openDatabase, type Database } from '../src/data/database';
import { createCourseStore, type CourseListQuery, type CourseSort } from '../src/data/courses';
import { seed } from './seed';

export interface PagePlans {
  firstPage: string;
  deepPage: string;
  /** How many courses precede the deep page's cursor. */
  depth: number;
  /** The deep page's query. */
  deep?: CourseListQuery;
}

export interface Plan {
  name: string;
  plan: string;
  query: CourseListQuery;
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
  query: CourseListQuery,
  options = 'ANALYZE, BUFFERS',
): Promise<string> {
  const store = createCourseStore(database);
  const result = await database.db.execute(
    sql`EXPLAIN (${sql.raw(options)}) ${store.listQuery(query)}`,
  );
  return (result.rows as { 'QUERY PLAN': string }[]).map((r) => r['QUERY PLAN']).join('\n');
}

const executionMs = (plan: string) => Number(/Execution Time: ([\d.]+) ms/.exec(plan)?.[1] ?? NaN);

/**
 * The median execution time of a page query over `runs` executions, without per-node timing:
 * timing every node costs more than a small plan's own work, and more for plans of more nodes.
 */
export async function medianMs(database: Database, query: CourseListQuery, runs = 21) {
  const times: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    times.push(executionMs(await explain(database, query, 'ANALYZE, TIMING OFF')));
  }
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)]!;
}

/** The plans of the first page and of a page ~90% down the default order (-createdAt). */
export async function explainPages(database: Database): Promise<PagePlans> {
  if (database.dialect !== 'postgresql') throw new Error('db:explain needs PostgreSQL');
  const { courses } = database.t;
  const live = and(eq(courses.status, 'published'), isNull(courses.deletedAt));
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
  const base = { status: 'published', sort: '-createdAt', limit: 21 } as const;
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
    const first = { status: 'published', sort: '-createdAt', limit: 21 } as const;
    const plans: Plan[] = [
      { name: 'first page, sort -createdAt', plan: pages.firstPage, query: first },
      ...(pages.deep
        ? [
            {
              name: `deep page, after ${pages.depth} courses`,
              plan: pages.deepPage,
              query: pages.deep,
            },
          ]
        : []),
      ...(await explainSearches(database)),
    ];
    for (const { name, plan } of plans) console.log(`\n${name}:\n${plan}`);
    console.log(
      `\nExecution times, median of 21 (${Number(total)} courses or more; 20 to a page):`,
    );
    const times = [];
    for (const { name, query } of plans) times.push({ name, ms: await medianMs(database, query) });
    for (const { name, ms } of times) {
      const ratio = (ms / times[0]!.ms).toFixed(1);
      console.log(`  ${name.padEnd(52)} ${ms.toFixed(3).padStart(8)} ms  ${ratio}x the first page`);
    }
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
