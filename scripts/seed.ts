// Fills the database DATABASE_URL names with realistic data, migrating it first:
//   npm run db:seed -- --courses 100000 [--users N] [--outlines N]
// Every seeded user's password is DEMO_PASSWORD; the admin is admin-<run>@seed.opencourse.dev.
// The newest courses (20,000 at most unless --outlines says) get an outline (sections of text,
// video and link lessons, some of them drafts, some free previews) and their active students some
// progress through its published lessons; older courses are empty, so that a million courses
// seed in minutes, not hours.
import 'dotenv/config';
import { randomUUID } from 'node:crypto';
import argon2 from 'argon2';
import { and, eq, getTableColumns, isNull, sql, type SQL } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import { loadConfig } from '../src/config';
import { openDatabase, type Database, type Db, type Tables } from '../src/data/database';
import { primaryLanguageOf } from '../src/domain';
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

// What an outline is made of.
const SECTION_TITLES = [
  'Core ideas',
  'The essentials',
  'Building blocks',
  'Worked examples',
  'Going deeper',
  'Common pitfalls',
  'Practice',
  'Putting it together',
  'Case studies',
  'Beyond the basics',
  'Tools of the trade',
  'Projects',
];
const TOPICS = [
  'the big picture',
  'first principles',
  'notation and vocabulary',
  'a worked problem',
  'common mistakes',
  'history and context',
  'the core model',
  'edge cases',
  'a case study',
  'rules of thumb',
  'measuring results',
  'review questions',
  'a guided exercise',
  'tools and resources',
];
const IDEAS = [
  'Name things precisely before you reason about them.',
  'Start from a small example you can check by hand.',
  'Most mistakes come from a hidden assumption: write yours down.',
  'Compare two approaches on the same problem before choosing one.',
  'A definition is a tool: use it to decide concrete cases.',
  'Practice a little every day rather than a lot once a week.',
  'Explain the idea to someone else, or to a rubber duck.',
  'Keep a list of the questions you could not answer yet.',
];
const LESSON_TITLES = {
  text: ['Reading: %', 'Notes on %', 'Worked example: %', 'Exercise: %', 'Key terms: %'],
  video: ['Lecture: %', 'Walkthrough: %', 'Demo: %', 'Interview: %'],
  link: ['Further reading: %', 'Reference: %', 'Interactive tool: %'],
} as const;
const SUMMARIES = {
  text: 'A short read on',
  video: 'A recorded session on',
  link: 'A hand-picked outside resource on',
} as const;
// Public sample videos (Google's test bucket) over https: a course player has something to play.
const VIDEOS = [
  'BigBuckBunny',
  'ElephantsDream',
  'ForBiggerBlazes',
  'ForBiggerEscapes',
  'ForBiggerFun',
  'ForBiggerJoyrides',
  'Sintel',
  'TearsOfSteel',
].map((name) => `https://commondatastorage.googleapis.com/gtv-videos-bucket/sample/${name}.mp4`);
const LINKS = [
  (q: string) => `https://en.wikipedia.org/w/index.php?search=${q}`,
  (q: string) => `https://www.khanacademy.org/search?page_search_query=${q}`,
  (q: string) => `https://ocw.mit.edu/search/?q=${q}`,
  (q: string) => `https://archive.org/search?query=${q}`,
];

const pick = <T>(list: readonly T[]): T => list[Math.floor(Math.random() * list.length)]!;
/** A whole number from `min` to `max`, both included. */
const between = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1));
const DAY = 86_400_000;

type UserRow = Tables['users']['$inferInsert'];
type CourseRow = Tables['courses']['$inferInsert'];
type EnrollmentRow = Tables['enrollments']['$inferInsert'];
type SectionRow = Tables['sections']['$inferInsert'];
type LessonRow = Tables['lessons']['$inferInsert'];
type CompletionRow = Tables['lessonCompletions']['$inferInsert'];
type LessonKind = LessonRow['kind'];

/** Courses that get an outline unless told otherwise: a frontend's worth, in seconds. */
const DEFAULT_OUTLINES = 20_000;

export interface SeedOptions {
  courses: number;
  users?: number;
  /** How many of the newest courses get an outline (all of them by default, up to 20,000). */
  outlines?: number;
  log?: (line: string) => void;
}

export interface SeedResult {
  users: number;
  courses: number;
  enrollments: number;
  sections: number;
  lessons: number;
  completions: number;
  ms: number;
}

/** Rows per statement: PostgreSQL takes them as arrays (see insertRows), SQLite as VALUES. */
const rowsPerStatement = (database: Database, table: PgTable) =>
  database.dialect === 'postgresql'
    ? 5000
    : // SQLite binds at most 32,766 values a statement.
      Math.min(1000, Math.floor(30_000 / Object.keys(getTableColumns(table)).length));

/**
 * Inserts `rows` inside `tx`, in multi-row statements. On PostgreSQL the rows travel as one
 * array per column that the server unnests (INSERT ... SELECT FROM unnest(...)): a dozen
 * parameters whatever the number of rows, where a VALUES list binds (and parses) one per value.
 */
async function insertRows<T extends PgTable>(
  database: Database,
  tx: Db,
  table: T,
  rows: T['$inferInsert'][],
): Promise<void> {
  const size = rowsPerStatement(database, table);
  for (let start = 0; start < rows.length; start += size) {
    const batch = rows.slice(start, start + size);
    if (database.dialect === 'sqlite') {
      await tx.insert(table).values(batch);
      continue;
    }
    const records = batch as Record<string, unknown>[];
    const columns = Object.entries(getTableColumns(table)).filter(([key]) => key in records[0]!);
    const arrays = columns.map(([key, column]) => {
      const values = records.map((row) => {
        const value = row[key];
        return value === null || value === undefined ? null : column.mapToDriverValue(value);
      });
      return sql`${sql.param(values)}::${sql.raw(column.getSQLType())}[]`;
    });
    const names = columns.map(([, column]) => sql.identifier(column.name));
    await tx.execute(
      sql`INSERT INTO ${table} (${sql.join(names, sql`, `)}) SELECT * FROM unnest(${sql.join(arrays, sql`, `)})`,
    );
  }
}

/**
 * Transactions at once on PostgreSQL, each on a connection of its own: most of a seed's time is
 * the server's (indexes, foreign key checks), and one backend uses one core. SQLite has one writer.
 */
const WRITERS = 2;

/**
 * Writes each batch `batches` yields in a transaction of its own, the next batch generated while
 * earlier ones are written, up to WRITERS of them at once. Stops at the first failure and throws it.
 */
async function writeAll<B>(
  database: Database,
  batches: Iterable<B>,
  write: (tx: Db, batch: B) => Promise<unknown>,
): Promise<void> {
  const writers = database.dialect === 'postgresql' ? WRITERS : 1;
  const writing: Promise<void>[] = [];
  let failure: { error: unknown } | undefined;
  for (const batch of batches) {
    if (failure) break;
    const done = database.transaction((tx) => write(tx, batch));
    writing.push(
      done.then(
        () => undefined,
        (error: unknown) => {
          failure ??= { error };
        },
      ),
    );
    if (writing.length >= writers) await writing.shift();
  }
  await Promise.all(writing);
  if (failure) throw failure.error;
}

/** `rows` in slices of `size`. */
function* slices<R>(rows: R[], size: number): Generator<R[]> {
  for (let start = 0; start < rows.length; start += size) yield rows.slice(start, start + size);
}

/** Inserts `rows`, ten statements' worth a transaction (see insertRows and writeAll). */
async function insertAll<T extends PgTable>(
  database: Database,
  table: T,
  rows: T['$inferInsert'][],
): Promise<void> {
  await writeAll(database, slices(rows, rowsPerStatement(database, table) * 10), (tx, chunk) =>
    insertRows(database, tx, table, chunk),
  );
}

/**
 * Measured as it will run: the planner's statistics of the new rows (ANALYZE) and, on
 * PostgreSQL, the visibility map that lets index-only scans skip the table (VACUUM), which
 * autovacuum would otherwise set some time later. VACUUM of a big database outlasts the pool's
 * statement timeout, so it runs on a connection of its own without one.
 */
async function vacuumAnalyze(database: Database, tables: string[] = []): Promise<void> {
  if (database.dialect === 'sqlite') {
    await (database.db as unknown as { run(query: SQL): Promise<unknown> }).run(sql`ANALYZE`);
    return;
  }
  const client = await database.pool!.connect();
  try {
    await client.query('SET statement_timeout = 0');
    await client.query(`VACUUM (ANALYZE) ${tables.map((t) => `"${t}"`).join(', ')}`);
  } finally {
    await client.query('RESET statement_timeout').catch(() => undefined);
    client.release();
  }
}

/** Users sharing one password hash, the first `admins` admins, the next `instructors` instructors. */
function userRows(
  count: number,
  options: { prefix?: string; admins: number; instructors: number; passwordHash: string },
  run: string,
  now: number,
): UserRow[] {
  return Array.from({ length: count }, (_, i) => {
    const role =
      i < options.admins
        ? 'admin'
        : i < options.admins + options.instructors
          ? 'instructor'
          : 'student';
    const createdAt = new Date(now - 800 * DAY + i * 1000);
    return {
      id: randomUUID(),
      email: `${options.prefix ?? ''}${role}-${i}-${run}@seed.opencourse.dev`,
      name: `${pick(FIRST)} ${pick(LAST)}`,
      bio: null,
      role,
      status: 'active' as const,
      emailVerified: true,
      passwordHash: options.passwordHash,
      createdAt,
      updatedAt: createdAt,
    };
  });
}

interface CourseInfo {
  id: string;
  subject: string;
  createdAt: Date;
  /** Where its sections' titles start in SECTION_TITLES: no two sections share one. */
  sectionTitles: number;
}

/** A text lesson's Markdown: a heading, key ideas, one of a few kinds of example, a link. */
function markdown(title: string, topic: string, subject: string, link: string): string {
  const ideas = [...IDEAS].sort(() => Math.random() - 0.5).slice(0, 3);
  const example = pick([
    [
      '## Example',
      '',
      `> Take one problem in ${subject} you met recently and look at it through ${topic}.`,
      '',
      '1. State what you know and what you want.',
      '2. Change one thing at a time.',
      '3. Check the result against the definition.',
    ],
    [
      '## Terms',
      '',
      '| term | what it means here |',
      '| --- | --- |',
      `| ${topic} | the subject of this lesson |`,
      `| ${subject} | the course's field |`,
    ],
    [
      '## Try it',
      '',
      '```text',
      `problem:  one case of ${topic}`,
      'attempt:  your first answer',
      'check:    what would prove it wrong?',
      '```',
    ],
  ]);
  return [
    `# ${title}`,
    '',
    `This lesson is about **${topic}** in ${subject}. Read it once straight through, then again ` +
      'with a pen, and _write down_ what surprised you.',
    '',
    '## Key ideas',
    '',
    ...ideas.map((idea) => `- ${idea}`),
    '',
    ...example,
    '',
    `Further reading: [${subject}](${link}).`,
  ].join('\n');
}

function lessonRow(
  course: CourseInfo,
  sectionId: string,
  position: number,
  status: LessonRow['status'],
): LessonRow {
  const roll = Math.random();
  const kind: LessonKind = roll < 0.5 ? 'text' : roll < 0.85 ? 'video' : 'link';
  const topic = pick(TOPICS);
  const title = pick(LESSON_TITLES[kind]).replace('%', topic);
  const link = pick(LINKS)(encodeURIComponent(course.subject));
  const minutes = { text: [5, 20], video: [3, 40], link: [5, 30] }[kind] as [number, number];
  const durationMinutes = Math.random() < 0.05 ? null : between(...minutes);
  return {
    id: randomUUID(),
    courseId: course.id,
    sectionId,
    title,
    summary: Math.random() < 0.7 ? `${SUMMARIES[kind]} ${topic} in ${course.subject}.` : null,
    kind,
    body:
      kind === 'text'
        ? markdown(title, topic, course.subject, link)
        : kind === 'video' && Math.random() < 0.3
          ? `Notes: watch it once, then pause at each question about **${topic}**.`
          : null,
    url: kind === 'video' ? pick(VIDEOS) : kind === 'link' ? link : null,
    durationMinutes,
    // About one lesson in ten is free to preview.
    preview: Math.random() < 0.1,
    status,
    position,
    createdAt: course.createdAt,
    updatedAt: course.createdAt,
  };
}

function sectionRow(course: CourseInfo, position: number, last: boolean): SectionRow {
  return {
    id: randomUUID(),
    courseId: course.id,
    title:
      position === 0
        ? 'Getting started'
        : last
          ? 'Wrapping up'
          : SECTION_TITLES[(course.sectionTitles + position) % SECTION_TITLES.length]!,
    position,
    createdAt: course.createdAt,
    updatedAt: course.createdAt,
  };
}

interface Outline {
  sections: SectionRow[];
  lessons: LessonRow[];
  /** The published lessons, in outline order: what progress counts. */
  published: LessonRow[];
}

/** 2 to 8 sections of 2 to 10 lessons; a few drafts, and now and then a draft-only last section. */
function randomOutline(course: CourseInfo): Outline {
  const sections: SectionRow[] = [];
  const lessons: LessonRow[] = [];
  const sectionCount = between(2, 8);
  const draftSection = Math.random() < 0.1 ? sectionCount - 1 : -1;
  for (let s = 0; s < sectionCount; s += 1) {
    const section = sectionRow(course, s, s === sectionCount - 1);
    sections.push(section);
    const lessonCount = between(2, 10);
    for (let p = 0; p < lessonCount; p += 1) {
      const draft = s === draftSection || Math.random() < 0.06;
      lessons.push(lessonRow(course, section.id, p, draft ? 'draft' : 'published'));
    }
  }
  return { sections, lessons, published: lessons.filter((l) => l.status === 'published') };
}

/** What `courses` keeps of its published lessons (data/content.ts keeps it so afterwards). */
function countersOf(published: LessonRow[]) {
  return {
    lessonCount: published.length,
    totalDurationMinutes: published.reduce((sum, l) => sum + (l.durationMinutes ?? 0), 0),
  };
}

/** A student's completions of the first `count` published lessons, in order, since enrolling. */
function completionsOf(
  enrollment: { courseId: string; userId: string; enrolledAt: Date },
  published: LessonRow[],
  count: number,
  now: number,
): CompletionRow[] {
  const start = enrollment.enrolledAt.getTime();
  const step = Math.min(DAY, Math.floor((now - start) / (count + 1)));
  return published.slice(0, count).map((lesson, j) => ({
    courseId: enrollment.courseId,
    userId: enrollment.userId,
    lessonId: lesson.id!,
    completedAt: new Date(start + (j + 1) * step),
  }));
}

/** Courses generated and written per transaction: outlines and progress make a course ~70 rows. */
const COURSES_PER_TRANSACTION = 500;

interface Chunk {
  courses: CourseRow[];
  sections: SectionRow[];
  lessons: LessonRow[];
  enrollments: EnrollmentRow[];
  completions: CompletionRow[];
}

/** Courses `from` to `to` (excluded) of `total`, with their outlines, enrollments and progress. */
function coursesChunk(
  from: number,
  to: number,
  total: number,
  outlines: number,
  people: { instructors: UserRow[]; students: UserRow[] },
  now: number,
): Chunk {
  const { instructors, students } = people;
  const chunk: Chunk = { courses: [], sections: [], lessons: [], enrollments: [], completions: [] };
  for (let i = from; i < to; i += 1) {
    const id = randomUUID();
    const createdAt = new Date(now - 730 * DAY + Math.floor((i / total) * 729 * DAY));
    const subject = pick(SUBJECTS);
    const outline =
      i >= total - outlines
        ? randomOutline({ id, subject, createdAt, sectionTitles: between(0, 11) })
        : { sections: [], lessons: [], published: [] };
    chunk.sections.push(...outline.sections);
    chunk.lessons.push(...outline.lessons);
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
        const enrollment = {
          id: randomUUID(),
          courseId: id,
          userId: students[(first + k) % students.length]!.id!,
          status: cancelled ? ('cancelled' as const) : ('active' as const),
          enrolledAt,
          cancelledAt: cancelled ? new Date(enrolledAt.getTime() + DAY) : null,
        };
        chunk.enrollments.push(enrollment);
        if (cancelled) continue;
        // Progress: 30% have not started, 10% are done, and the rest are on their way, more of
        // them near the start than near the end (students drop out as a course goes on).
        const n = outline.published.length;
        const progress = Math.random();
        const done =
          progress < 0.3 || n === 0
            ? 0
            : progress < 0.4
              ? n
              : Math.max(1, Math.ceil(n * Math.random() ** 2));
        chunk.completions.push(...completionsOf(enrollment, outline.published, done, now));
      }
    }
    // Most courses in English; the rest in other languages, regional tags among them, so that
    // the `language` filter (`fr` finds `fr` and `fr-CA`) has something to find.
    const language = Math.random() < 0.8 ? 'en' : pick(['es', 'fr', 'fr-CA', 'de', 'pt-BR']);
    chunk.courses.push({
      id,
      title: `${pick(ADJECTIVES)} ${subject} ${1 + (i % 400)}`,
      description: 'A seeded course, for demos and load tests.',
      category: Math.random() < 0.1 ? null : pick(CATEGORIES),
      level: pick(LEVELS),
      language,
      primaryLanguage: primaryLanguageOf(language),
      status: status as 'published' | 'draft' | 'archived',
      capacity,
      enrolledCount,
      ...countersOf(outline.published),
      instructorId: pick(instructors).id!,
      createdAt,
      updatedAt: createdAt,
      publishedAt: status === 'draft' ? null : createdAt,
      deletedAt: null,
    });
  }
  return chunk;
}

export async function seed(database: Database, options: SeedOptions): Promise<SeedResult> {
  const started = Date.now();
  const log = options.log ?? (() => undefined);
  const { users, courses, enrollments, sections, lessons, lessonCompletions } = database.t;
  const userCount = options.users ?? Math.max(50, Math.ceil(options.courses / 20));
  // A tag per run keeps emails unique when a database is seeded twice.
  const run = randomUUID().slice(0, 6);
  // argon2 is slow on purpose: hash the one demo password once and share the hash.
  // With the live parameters, so that logging in as a seeded user costs what any login costs.
  const passwordHash = await argon2.hash(DEMO_PASSWORD, HASH_OPTIONS);
  const now = Date.now();

  const instructorCount = Math.max(1, Math.ceil(userCount * 0.05));
  const allUsers = userRows(
    userCount,
    { admins: 1, instructors: instructorCount, passwordHash },
    run,
    now,
  );
  const people = {
    instructors: allUsers.filter((u) => u.role === 'instructor'),
    students: allUsers.filter((u) => u.role === 'student'),
  };
  await insertAll(database, users, allUsers);
  log(`users: ${allUsers.length}`);

  // A chunk of courses, with their outlines, enrollments and progress, per transaction.
  const totals = { enrollments: 0, sections: 0, lessons: 0, completions: 0 };
  const chunks = Math.ceil(options.courses / COURSES_PER_TRANSACTION);
  function* generate(): Generator<Chunk> {
    for (let c = 0; c < chunks; c += 1) {
      const to = Math.min(options.courses, (c + 1) * COURSES_PER_TRANSACTION);
      const chunk = coursesChunk(
        c * COURSES_PER_TRANSACTION,
        to,
        options.courses,
        options.outlines ?? Math.min(options.courses, DEFAULT_OUTLINES),
        people,
        now,
      );
      totals.enrollments += chunk.enrollments.length;
      totals.sections += chunk.sections.length;
      totals.lessons += chunk.lessons.length;
      totals.completions += chunk.completions.length;
      if (chunks >= 10 && c > 0 && c % Math.ceil(chunks / 10) === 0) {
        log(`courses: ${c * COURSES_PER_TRANSACTION} of ${options.courses}...`);
      }
      yield chunk;
    }
  }
  await writeAll(database, generate(), async (tx, chunk) => {
    await insertRows(database, tx, courses, chunk.courses);
    await insertRows(database, tx, sections, chunk.sections);
    await insertRows(database, tx, lessons, chunk.lessons);
    await insertRows(database, tx, enrollments, chunk.enrollments);
    await insertRows(database, tx, lessonCompletions, chunk.completions);
  });
  log(
    `courses: ${options.courses}, with ${totals.sections} sections and ${totals.lessons} lessons`,
  );
  log(`enrollments: ${totals.enrollments}, with ${totals.completions} lesson completions`);
  await vacuumAnalyze(database);
  log(database.dialect === 'postgresql' ? 'vacuumed and analyzed' : 'analyzed');
  return {
    users: allUsers.length,
    courses: options.courses,
    ...totals,
    ms: Date.now() - started,
  };
}

export interface RosterOptions {
  /** Students enrolled (one in ten of them cancelled since). */
  students: number;
  /** Published lessons, in sections of 25; a last, draft-only section holds 5 drafts more. */
  lessons: number;
  log?: (line: string) => void;
}

export interface RosterCourse {
  courseId: string;
  students: number;
  lessons: number;
  completions: number;
}

/**
 * How far a roster's students got, as a share of the published lessons: a big open course's
 * long tail (a third never start, one in twenty finishes). Student i gets share i mod 20, so
 * every page of 20 holds the same mix, wherever it is in the roster.
 */
export const ROSTER_PROGRESS = [
  0, 0.006, 0, 1, 0.024, 0, 0.002, 0.08, 0, 0.004, 0.24, 0, 0.012, 0, 0.05, 0.002, 0.12, 0, 0.016,
  0.4,
];

const rosterTitle = (options: RosterOptions) =>
  `Roster benchmark: ${options.students} students, ${options.lessons} lessons`;

/** The live course `seedRosterCourse` made with these options, if any. */
export async function findRosterCourse(
  database: Database,
  options: RosterOptions,
): Promise<string | undefined> {
  const { courses } = database.t;
  const [row] = await database.db
    .select({ id: courses.id })
    .from(courses)
    .where(
      and(
        eq(courses.status, 'published'),
        eq(courses.title, rosterTitle(options)),
        isNull(courses.deletedAt),
      ),
    )
    .limit(1);
  return row?.id;
}

/**
 * One published course with a big roster, to measure a roster page with: `students` new students
 * (sharing one password hash) enrolled over the past year, `lessons` published lessons, and
 * each student's completions of a prefix of them (see ROSTER_PROGRESS). Ends with VACUUM ANALYZE
 * of the tables it filled (ANALYZE on SQLite).
 */
export async function seedRosterCourse(
  database: Database,
  options: RosterOptions,
): Promise<RosterCourse> {
  const log = options.log ?? (() => undefined);
  const { users, courses, enrollments, sections, lessons, lessonCompletions } = database.t;
  const run = randomUUID().slice(0, 6);
  const passwordHash = await argon2.hash(DEMO_PASSWORD, HASH_OPTIONS);
  const now = Date.now();
  const people = userRows(
    options.students + 1,
    { prefix: 'roster-', admins: 0, instructors: 1, passwordHash },
    run,
    now,
  );
  await insertAll(database, users, people);
  log(`roster: ${options.students} students`);

  const createdAt = new Date(now - 400 * DAY);
  const course: CourseInfo = {
    id: randomUUID(),
    subject: 'Learning How to Learn',
    createdAt,
    sectionTitles: 0,
  };
  const sectionRows: SectionRow[] = [];
  const lessonRows: LessonRow[] = [];
  const sectionCount = Math.ceil(options.lessons / 25);
  for (let s = 0; s <= sectionCount; s += 1) {
    const draft = s === sectionCount;
    const section = sectionRow(course, s, draft);
    sectionRows.push(section);
    const count = draft ? 5 : Math.min(25, options.lessons - s * 25);
    for (let p = 0; p < count; p += 1) {
      lessonRows.push(lessonRow(course, section.id, p, draft ? 'draft' : 'published'));
    }
  }
  const published = lessonRows.filter((l) => l.status === 'published');

  // Enrolled one after the other over the year, every tenth since cancelled.
  const span = now - createdAt.getTime() - 2 * DAY;
  const enrollmentRows = people.slice(1).map((student, i) => {
    const enrolledAt = new Date(
      createdAt.getTime() + DAY + Math.floor((i * span) / options.students),
    );
    const cancelled = i % 10 === 7;
    return {
      id: randomUUID(),
      courseId: course.id,
      userId: student.id!,
      status: cancelled ? ('cancelled' as const) : ('active' as const),
      enrolledAt,
      cancelledAt: cancelled ? new Date(enrolledAt.getTime() + DAY / 2) : null,
    };
  });
  await database.transaction(async (tx) => {
    await insertRows(database, tx, courses, [
      {
        id: course.id,
        title: rosterTitle(options),
        description: 'A seeded course with a big roster, to measure roster pages with.',
        category: 'Health',
        level: 'beginner',
        language: 'en',
        primaryLanguage: 'en',
        status: 'published',
        capacity: null,
        enrolledCount: enrollmentRows.filter((e) => e.status === 'active').length,
        ...countersOf(published),
        instructorId: people[0]!.id!,
        createdAt,
        updatedAt: createdAt,
        publishedAt: createdAt,
        deletedAt: null,
      },
    ]);
    await insertRows(database, tx, sections, sectionRows);
    await insertRows(database, tx, lessons, lessonRows);
  });
  await insertAll(database, enrollments, enrollmentRows);

  // Completions, a few thousand students' worth per transaction. A student who cancelled keeps
  // what they completed before.
  let completions = 0;
  const perTransaction = 5000;
  function* generate(): Generator<CompletionRow[]> {
    for (let start = 0; start < enrollmentRows.length; start += perTransaction) {
      const rows = enrollmentRows.slice(start, start + perTransaction).flatMap((enrollment, j) => {
        const share = ROSTER_PROGRESS[(start + j) % ROSTER_PROGRESS.length]!;
        return completionsOf(enrollment, published, Math.ceil(share * published.length), now);
      });
      completions += rows.length;
      yield rows;
    }
  }
  await writeAll(database, generate(), (tx, rows) =>
    insertRows(database, tx, lessonCompletions, rows),
  );
  log(`roster: ${published.length} published lessons, ${completions} lesson completions`);
  await vacuumAnalyze(database, [
    'users',
    'courses',
    'sections',
    'lessons',
    'enrollments',
    'lesson_completions',
  ]);
  return {
    courseId: course.id,
    students: options.students,
    lessons: published.length,
    completions,
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
      outlines: argument('outlines'),
      log: (line) => console.log(`  ${line}`),
    });
    console.log(
      `Seeded ${result.users} users, ${result.courses} courses (${result.lessons} lessons) and ` +
        `${result.enrollments} enrollments (${result.completions} lesson completions) into ` +
        `${database.dialect} in ${(result.ms / 1000).toFixed(1)} s ` +
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
