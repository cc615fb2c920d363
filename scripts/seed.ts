// Fills the database DATABASE_URL names with realistic data, migrating it first:
//   npm run db:seed -- --courses 100000 [--users N]
// Every seeded user's password is DEMO_PASSWORD; the admin is admin-<run>@seed.opencourse.dev.
import 'dotenv/config';
import { randomUUID } from 'node:crypto';
import argon2 from 'argon2';
import { sql } from 'drizzle-orm';
import { loadConfig } from '../src/config';
import { openDatabase, type Database } from '../src/data/database';
import { HASH_OPTIONS } from '../src/services/passwords';

export const DEMO_PASSWORD = 'opencourse-demo-password';

const CATEGORIES = [
  'Computer science',
  'Mathematics',
  'Physics',
  'Chemistry',
  'Biology',
  'History',
  'Philosophy',
  'Economics',
  'Languages',
  'Music',
  'Art',
  'Design',
  'Business',
  'Health',
  'Engineering',
];
const ADJECTIVES = [
  'Introduction to',
  'Advanced',
  'Practical',
  'Applied',
  'Modern',
  'Foundations of',
  'A Gentle Guide to',
  'Hands-on',
  'Essential',
  'Topics in',
  'Mastering',
  'The Art of',
];
const SUBJECTS = [
  'Compilers',
  'Databases',
  'Linear Algebra',
  'Quantum Mechanics',
  'Organic Chemistry',
  'Genetics',
  'Medieval Europe',
  'Ethics',
  'Macroeconomics',
  'Spanish',
  'Jazz Harmony',
  'Watercolour',
  'Typography',
  'Accounting',
  'Nutrition',
  'Thermodynamics',
  'Algorithms',
  'Statistics',
  'Machine Learning',
  'Distributed Systems',
  'Poetry',
  'Astronomy',
  'Calculus',
  'Negotiation',
  'Web Development',
  'Cryptography',
  'Robotics',
  'Ecology',
  'Sculpture',
  'Logic',
];
const LEVELS = ['beginner', 'intermediate', 'advanced', null] as const;
const FIRST = [
  'Ada',
  'Alan',
  'Grace',
  'Edsger',
  'Barbara',
  'Donald',
  'Margaret',
  'Ken',
  'Frances',
  'John',
];
const LAST = [
  'Lovelace',
  'Turing',
  'Hopper',
  'Dijkstra',
  'Liskov',
  'Knuth',
  'Hamilton',
  'Thompson',
  'Allen',
  'Backus',
];

const pick = <T>(list: readonly T[]): T => list[Math.floor(Math.random() * list.length)]!;
const DAY = 86_400_000;

export interface SeedOptions {
  courses: number;
  users?: number;
  log?: (line: string) => void;
}

export interface SeedResult {
  users: number;
  courses: number;
  enrollments: number;
  ms: number;
}

/** Inserts `rows` in multi-row statements of `size`, several statements per transaction. */
async function insertAll<R>(
  database: Database,
  rows: R[],
  size: number,
  insert: (
    tx: Parameters<Parameters<Database['transaction']>[0]>[0],
    batch: R[],
  ) => Promise<unknown>,
): Promise<void> {
  const perTransaction = size * 10;
  for (let start = 0; start < rows.length; start += perTransaction) {
    const chunk = rows.slice(start, start + perTransaction);
    await database.transaction(async (tx) => {
      for (let i = 0; i < chunk.length; i += size) await insert(tx, chunk.slice(i, i + size));
    });
  }
}

export async function seed(database: Database, options: SeedOptions): Promise<SeedResult> {
  const started = Date.now();
  const log = options.log ?? (() => undefined);
  const { users, courses, enrollments } = database.t;
  const userCount = options.users ?? Math.max(50, Math.ceil(options.courses / 20));
  // A tag per run keeps emails unique when a database is seeded twice.
  const run = randomUUID().slice(0, 6);
  // argon2 is slow on purpose: hash the one demo password once and share the hash.
  // With the live parameters, so that logging in as a seeded user costs what any login costs.
  const passwordHash = await argon2.hash(DEMO_PASSWORD, HASH_OPTIONS);
  const now = Date.now();

  const instructorCount = Math.max(1, Math.ceil(userCount * 0.05));
  const userRows = Array.from({ length: userCount }, (_, i) => {
    const role = i === 0 ? 'admin' : i <= instructorCount ? 'instructor' : 'student';
    const createdAt = new Date(now - 800 * DAY + i * 1000);
    return {
      id: randomUUID(),
      email: `${role}-${i}-${run}@seed.opencourse.dev`,
      name: `${pick(FIRST)} ${pick(LAST)}`,
      bio: null,
      role: role as 'admin' | 'instructor' | 'student',
      status: 'active' as const,
      emailVerified: true,
      passwordHash,
      createdAt,
      updatedAt: createdAt,
    };
  });
  const instructors = userRows.filter((u) => u.role === 'instructor');
  const students = userRows.filter((u) => u.role === 'student');
  await insertAll(database, userRows, 1000, (tx, batch) => tx.insert(users).values(batch));
  log(`users: ${userRows.length}`);

  const courseRows = [];
  const enrollmentRows = [];
  for (let i = 0; i < options.courses; i += 1) {
    const id = randomUUID();
    const createdAt = new Date(now - 730 * DAY + Math.floor((i / options.courses) * 729 * DAY));
    const roll = Math.random();
    const status = roll < 0.8 ? 'published' : roll < 0.92 ? 'draft' : 'archived';
    const capacity = Math.random() < 0.3 ? null : 5 + Math.floor(Math.random() * 195);
    let enrolledCount = 0;
    if (status !== 'draft' && students.length > 0) {
      const wanted = Math.min(Math.floor(Math.random() * 8), capacity ?? 8, students.length);
      const first = Math.floor(Math.random() * students.length);
      for (let k = 0; k < wanted; k += 1) {
        const cancelled = Math.random() < 0.1;
        if (!cancelled) enrolledCount += 1;
        const enrolledAt = new Date(createdAt.getTime() + (k + 1) * 3_600_000);
        enrollmentRows.push({
          id: randomUUID(),
          courseId: id,
          userId: students[(first + k) % students.length]!.id,
          status: cancelled ? ('cancelled' as const) : ('active' as const),
          enrolledAt,
          cancelledAt: cancelled ? new Date(enrolledAt.getTime() + DAY) : null,
        });
      }
    }
    courseRows.push({
      id,
      title: `${pick(ADJECTIVES)} ${pick(SUBJECTS)} ${1 + (i % 400)}`,
      description: 'A seeded course, for demos and load tests.',
      category: Math.random() < 0.1 ? null : pick(CATEGORIES),
      level: pick(LEVELS),
      language: Math.random() < 0.8 ? 'en' : pick(['es', 'fr', 'de', 'pt-BR']),
      status: status as 'published' | 'draft' | 'archived',
      capacity,
      enrolledCount,
      instructorId: pick(instructors).id,
      createdAt,
      updatedAt: createdAt,
      publishedAt: status === 'draft' ? null : createdAt,
      deletedAt: null,
    });
  }
  await insertAll(database, courseRows, 2000, (tx, batch) => tx.insert(courses).values(batch));
  log(`courses: ${courseRows.length}`);
  await insertAll(database, enrollmentRows, 4000, (tx, batch) =>
    tx.insert(enrollments).values(batch),
  );
  log(`enrollments: ${enrollmentRows.length}`);
  if (database.dialect === 'postgresql') {
    // Measured as it will run: the planner's statistics of the new rows (ANALYZE), and the
    // visibility map that lets index-only scans skip the table (VACUUM), which autovacuum would
    // otherwise set some time later.
    await database.db.execute(sql`VACUUM (ANALYZE)`);
    log('vacuumed and analyzed');
  }
  return {
    users: userRows.length,
    courses: courseRows.length,
    enrollments: enrollmentRows.length,
    ms: Date.now() - started,
  };
}

function argument(name: string): number | undefined {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return undefined;
  const value = Number(process.argv[at + 1]);
  if (!Number.isInteger(value) || value < 0) throw new Error(`--${name} takes a whole number`);
  return value;
}

async function main() {
  const config = loadConfig();
  const database = openDatabase(config.databaseUrl);
  try {
    await database.migrate();
    const result = await seed(database, {
      courses: argument('courses') ?? 1000,
      users: argument('users'),
      log: (line) => console.log(`  ${line}`),
    });
    console.log(
      `Seeded ${result.users} users, ${result.courses} courses and ${result.enrollments} ` +
        `enrollments into ${database.dialect} in ${(result.ms / 1000).toFixed(1)} s ` +
        `(password for every user: ${DEMO_PASSWORD}).`,
    );
  } finally {
    await database.close();
  }
}

if (require.main === module) {
  main().catch((err: Error) => {
    console.error(`Seeding failed: ${err.message}`);
    process.exit(1);
  });
}
