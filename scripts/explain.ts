// Shows that a page of listCourses costs the same deep down as at the top (PostgreSQL only):
//   npm run db:explain [-- --courses 100000]
// Uses the database DATABASE_URL names, seeding it first when it holds fewer courses than asked.
import 'dotenv/config';
import { count, desc, eq, isNull, and, sql } from 'drizzle-orm';
import { loadConfig } from '../src/config';
import { openDatabase, type Database } from '../src/data/database';
import { createCourseStore, type CourseListQuery } from '../src/data/courses';
import { seed } from './seed';

export interface PagePlans {
  firstPage: string;
  deepPage: string;
  /** How many courses precede the deep page's cursor. */
  depth: number;
}

async function explain(database: Database, query: CourseListQuery): Promise<string> {
  const store = createCourseStore(database);
  const result = await database.db.execute(
    sql`EXPLAIN (ANALYZE, BUFFERS) ${store.listQuery(query)}`,
  );
  return (result.rows as { 'QUERY PLAN': string }[]).map((r) => r['QUERY PLAN']).join('\n');
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
  return {
    firstPage: await explain(database, base),
    deepPage: position
      ? await explain(database, { ...base, after: { value: position.createdAt, id: position.id } })
      : '(not enough courses for a deep page)',
    depth,
  };
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
    const plans = await explainPages(database);
    console.log('First page (sort -createdAt, limit 20):\n' + plans.firstPage);
    console.log(`\nDeep page (after ${plans.depth} courses):\n` + plans.deepPage);
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
