import { and, asc, desc, eq, getTableColumns, isNull, sql, type SQL } from 'drizzle-orm';
import type { CourseLevel, CourseStatus } from '../services/types';
import { prepared, type Database, type Db } from './database';
import { afterPosition } from './keyset';
import { containsIgnoringCase } from './search';

export type CourseSort = '-createdAt' | 'createdAt' | 'title' | '-title';

/** A live course row with its instructor's name, as every course answer needs it. */
export type CourseRecord = NonNullable<Awaited<ReturnType<CourseStore['find']>>>;

export interface NewCourse {
  title: string;
  description: string;
  category: string | null;
  level: CourseLevel | null;
  language: string;
  status: CourseStatus;
  capacity: number | null;
  instructorId: string;
}

export type CourseChanges = Omit<NewCourse, 'instructorId'> & { publishedAt: Date | null };

export interface CourseListQuery {
  status: CourseStatus;
  /** Only courses of this owner: how non-admins see drafts and archived courses. */
  ownerId?: string;
  instructorId?: string;
  category?: string;
  level?: CourseLevel;
  q?: string;
  sort: CourseSort;
  /** The keyset position of the last row of the previous page. */
  after?: { value: Date | string; id: string };
  limit: number;
}

/** A row this very transaction wrote; its absence would be a bug, not an answer. */
export function written<T>(row: T | undefined): T {
  if (row === undefined) throw new Error('a row written in this transaction is missing');
  return row;
}

/** The courses table: the only code that reads or writes it. */
export function createCourseStore(database: Database) {
  const { courses, users } = database.t;
  const columns = { ...getTableColumns(courses), instructorName: users.name };
  const selectCourses = (db: Db) =>
    db.select(columns).from(courses).innerJoin(users, eq(users.id, courses.instructorId));

  /** The sort column and direction of each listing order; ties are broken by id. */
  const orders = {
    '-createdAt': { column: courses.createdAt, descending: true },
    createdAt: { column: courses.createdAt, descending: false },
    title: { column: courses.title, descending: false },
    '-title': { column: courses.title, descending: true },
  } as const;

  /** The page query itself, unexecuted, so that scripts/explain.ts can show its plan. */
  function listQuery(query: CourseListQuery) {
    const { column, descending } = orders[query.sort];
    const conditions: (SQL | undefined)[] = [
      isNull(courses.deletedAt),
      eq(courses.status, query.status),
      query.ownerId ? eq(courses.instructorId, query.ownerId) : undefined,
      query.instructorId ? eq(courses.instructorId, query.instructorId) : undefined,
      query.category ? eq(courses.category, query.category) : undefined,
      query.level ? eq(courses.level, query.level) : undefined,
      query.q ? containsIgnoringCase(courses.title, query.q, database.dialect) : undefined,
    ];
    if (query.after) {
      conditions.push(afterPosition(column, courses.id, query.after, descending));
    }
    const direction = descending ? desc : asc;
    return selectCourses(database.db)
      .where(and(...conditions))
      .orderBy(direction(column), direction(courses.id))
      .limit(query.limit);
  }

  const byId = prepared(database, 'course_by_id', (db) =>
    selectCourses(db)
      .where(and(eq(courses.id, sql.placeholder('id')), isNull(courses.deletedAt)))
      .limit(1),
  );

  async function find(id: string, db: Db = database.db) {
    const [row] = await byId({ id }, db);
    return row;
  }

  return {
    find,
    /** The course as it is now inside `tx`, which has just written it. */
    findWritten: async (tx: Db, id: string) => written(await find(id, tx)),

    /**
     * Locks a course row until the transaction ends, so that seat counts and conditional
     * updates are decided on a value nobody else can change meanwhile. SQLite has no row locks,
     * and needs none: its write transactions already run one at a time (the writer mutex).
     */
    async lock(tx: Db, id: string): Promise<void> {
      if (database.dialect !== 'postgresql') return;
      await tx.select({ id: courses.id }).from(courses).where(eq(courses.id, id)).for('update');
    },

    async insert(course: NewCourse) {
      const id = crypto.randomUUID();
      const now = new Date();
      return database.transaction(async (tx) => {
        await tx.insert(courses).values({
          id,
          ...course,
          enrolledCount: 0,
          createdAt: now,
          updatedAt: now,
          publishedAt: course.status === 'published' ? now : null,
        });
        return written(await find(id, tx));
      });
    },

    async update(tx: Db, id: string, changes: CourseChanges): Promise<void> {
      await tx
        .update(courses)
        .set({ ...changes, updatedAt: new Date() })
        .where(eq(courses.id, id));
    },

    async softDelete(id: string): Promise<void> {
      const now = new Date();
      await database.transaction(async (tx) => {
        await tx
          .update(courses)
          .set({ deletedAt: now, updatedAt: now })
          .where(and(eq(courses.id, id), isNull(courses.deletedAt)));
      });
    },

    /** Takes (`delta` 1) or frees (`delta` -1) a seat; the caller holds the course's lock. */
    async addEnrolled(tx: Db, id: string, delta: number): Promise<void> {
      await tx
        .update(courses)
        .set({ enrolledCount: sql`${courses.enrolledCount} + ${delta}` })
        .where(eq(courses.id, id));
    },

    async ownsLive(db: Db, userId: string): Promise<boolean> {
      const [row] = await db
        .select({ id: courses.id })
        .from(courses)
        .where(and(eq(courses.instructorId, userId), isNull(courses.deletedAt)))
        .limit(1);
      return row !== undefined;
    },

    async isActiveInstructor(userId: string): Promise<boolean> {
      const [row] = await database.db
        .select({ id: users.id })
        .from(users)
        .where(
          and(
            eq(users.id, userId),
            eq(users.role, 'instructor'),
            eq(users.status, 'active'),
            isNull(users.deletedAt),
          ),
        )
        .limit(1);
      return row !== undefined;
    },

    listQuery,

    list: (query: CourseListQuery) => listQuery(query).execute(),
  };
}

export type CourseStore = ReturnType<typeof createCourseStore>;
