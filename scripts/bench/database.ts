// The benchmark's database: a PostgreSQL database of its own, filled by the project's seed, and
// the rows the scenarios need (courses to read, students to log in as, a deep position).
import pg from 'pg';
import { run } from './processes';

export interface BenchDatabase {
  name: string;
  url: string;
  /** Named by BENCH_DB: kept after the run, and reused by the next one. */
  kept: boolean;
  drop(): Promise<void>;
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function courseCount(url: string): Promise<number> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ n: string }>(
      `SELECT CASE WHEN to_regclass('courses') IS NULL THEN 0
                   ELSE (SELECT count(*) FROM courses) END AS n`,
    );
    return Number(rows[0]!.n);
  });
}

/**
 * Creates and seeds the database, or reuses a kept one that already holds courses. Seeding runs
 * the API's own `scripts/seed.ts` (it migrates first) with `--courses N`.
 */
export async function prepareDatabase(options: {
  adminUrl: string;
  name: string;
  keep: boolean;
  courses: number;
  apiDir: string;
  /** The seed's password hashed with the API's live parameters (see below). */
  passwordHash: string;
  log: (line: string) => void;
}): Promise<BenchDatabase> {
  const { adminUrl, name, keep, log } = options;
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const database: BenchDatabase = {
    name,
    url: url.toString(),
    kept: keep,
    drop: async () => {
      if (keep) return;
      await withClient(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
  const exists = await withClient(adminUrl, async (c) => {
    const { rowCount } = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    return rowCount === 1;
  });
  if (!exists) await withClient(adminUrl, (c) => c.query(`CREATE DATABASE "${name}"`));
  const present = exists ? await courseCount(database.url) : 0;
  if (present > 0) {
    log(`reusing database ${name}: ${present} courses already there`);
    if (Math.abs(present - options.courses) > options.courses * 0.01) {
      log(`  (BENCH_COURSES asks for ${options.courses}; drop ${name} to seed afresh)`);
    }
  } else {
    log(`seeding ${options.courses} courses into ${name} with the project's seed...`);
    const started = Date.now();
    await run('npx', ['tsx', 'scripts/seed.ts', '--courses', String(options.courses)], {
      cwd: options.apiDir,
      // The seed builds every row in memory before inserting it; 1M courses need room.
      env: {
        ...process.env,
        DATABASE_URL: database.url,
        NODE_OPTIONS: '--max-old-space-size=8192',
      },
      echo: true,
    });
    log(`  seeded in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
  // The API's own migrations, now rather than at its start: a reused database may predate some
  // (a new index on a million rows takes a while), and the planner must see what they built.
  log("applying the API's migrations...");
  await run('npx', ['tsx', 'scripts/migrate.ts'], {
    cwd: options.apiDir,
    env: { ...process.env, DATABASE_URL: database.url },
  });
  // The seed hashes its one password with argon2's defaults (64 MiB, t=3, p=4), several times
  // what the API's HASH_OPTIONS cost; every real account is hashed with the live parameters at
  // registration, so the seeded ones get such a hash too, or logins would measure the seed.
  const prefix = options.passwordHash.split('$').slice(0, 4).join('$') + '$';
  const rehashed = await withClient(database.url, (c) =>
    c.query(
      `UPDATE users SET password_hash = $1
        WHERE email LIKE '%@seed.opencourse.dev' AND password_hash NOT LIKE $2 || '%'`,
      [options.passwordHash, prefix],
    ),
  );
  if (rehashed.rowCount)
    log(`seeded users' password rehashed with ${prefix}: ${rehashed.rowCount}`);
  // ANALYZE so the planner knows the tables as they will run; VACUUM too, or autovacuum would
  // wake up for the freshly inserted tables in the middle of a round, on the servers' core; and a
  // CHECKPOINT so the seed's dirty pages are not written out during the rounds either.
  log('VACUUM ANALYZE, CHECKPOINT...');
  await withClient(database.url, async (c) => {
    await c.query('VACUUM ANALYZE');
    await c.query('CHECKPOINT');
  });
  return database;
}

export interface Fixtures {
  courses: number;
  publishedCourses: number;
  users: number;
  /** Published courses, in random order: the by-id scenarios read them in turn. */
  courseIds: string[];
  /** Emails of active students (every seeded user's password is the seed's DEMO_PASSWORD). */
  students: string[];
  /** Published courses without a capacity, one for each student who enrolls in the bench. */
  openCourseIds: string[];
  /** The position ~90% down the default listing (-createdAt) of published courses. */
  deep: { createdAt: Date; id: string; depth: number };
}

const LIVE = `status = 'published' AND deleted_at IS NULL`;

export async function readFixtures(url: string): Promise<Fixtures> {
  return withClient(url, async (c) => {
    const count = async (sql: string) => Number((await c.query<{ n: string }>(sql)).rows[0]!.n);
    const courses = await count('SELECT count(*) AS n FROM courses');
    const publishedCourses = await count(`SELECT count(*) AS n FROM courses WHERE ${LIVE}`);
    const users = await count('SELECT count(*) AS n FROM users');
    const ids = async (sql: string) => (await c.query<{ id: string }>(sql)).rows.map((r) => r.id);
    const courseIds = await ids(
      `SELECT id FROM courses WHERE ${LIVE} ORDER BY random() LIMIT 1000`,
    );
    const openCourseIds = await ids(
      `SELECT id FROM courses WHERE ${LIVE} AND capacity IS NULL ORDER BY random() LIMIT 100`,
    );
    const students = (
      await c.query<{ email: string }>(
        `SELECT email FROM users
          WHERE role = 'student' AND status = 'active' AND deleted_at IS NULL
          ORDER BY created_at, id LIMIT 2000`,
      )
    ).rows.map((r) => r.email);
    // OFFSET only finds where the deep page starts; the pages themselves are keyset queries.
    const depth = Math.floor(publishedCourses * 0.9);
    const { rows } = await c.query<{ created_at: Date; id: string }>(
      `SELECT created_at, id FROM courses WHERE ${LIVE}
        ORDER BY created_at DESC, id DESC OFFSET $1 LIMIT 1`,
      [depth],
    );
    if (!rows[0]) throw new Error('the database holds no published course');
    return {
      courses,
      publishedCourses,
      users,
      courseIds,
      students,
      openCourseIds,
      deep: { createdAt: rows[0].created_at, id: rows[0].id, depth },
    };
  });
}

/** How many published courses have `term` in their title, any case (what `q` finds). */
export async function titleMatches(url: string, terms: string[]): Promise<Map<string, number>> {
  return withClient(url, async (c) => {
    const counts = new Map<string, number>();
    for (const term of terms) {
      const { rows } = await c.query<{ n: string }>(
        `SELECT count(*) AS n FROM courses WHERE ${LIVE} AND title ILIKE '%' || $1 || '%'`,
        [term],
      );
      counts.set(term, Number(rows[0]!.n));
    }
    return counts;
  });
}
