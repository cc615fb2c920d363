import { and, desc, eq, inArray, isNull, sql, type SQL } from 'drizzle-orm';
import type { EnrollmentStatus } from '../domain';
import { written } from './courses';
import { afterPosition } from './keyset';
import { prepared, type Database, type Db } from './database';

export interface EnrollmentPageQuery {
  status?: EnrollmentStatus;
  /** The keyset position (enrolledAt, id) of the last row of the previous page. */
  after?: { enrolledAt: Date; id: string };
  limit: number;
}

/**
 * The enrollments table: the API reads and writes it only here (scripts/seed.ts fills it in
 * bulk). Seats are counted on `courses`, so this module also locks and updates course rows.
 */
export function createEnrollmentStore(database: Database) {
  const { enrollments, courses, users } = database.t;

  /** Newest first: (enrolled_at, id) descending, continued after a keyset position. */
  function pageConditions(query: EnrollmentPageQuery): (SQL | undefined)[] {
    const after = query.after
      ? afterPosition(
          enrollments.enrolledAt,
          enrollments.id,
          { value: query.after.enrolledAt, id: query.after.id },
          true,
        )
      : undefined;
    return [query.status ? eq(enrollments.status, query.status) : undefined, after];
  }
  const newestFirst = [desc(enrollments.enrolledAt), desc(enrollments.id)];

  const selectedWithCourse = {
    id: enrollments.id,
    courseId: enrollments.courseId,
    userId: enrollments.userId,
    status: enrollments.status,
    enrolledAt: enrollments.enrolledAt,
    cancelledAt: enrollments.cancelledAt,
    lessonCount: courses.lessonCount,
    course: {
      id: courses.id,
      title: courses.title,
      status: courses.status,
      instructorId: courses.instructorId,
      instructorName: users.name,
    },
  };
  /** A user's enrollments in live courses, each with its course and the course's instructor. */
  const selectWithCourse = (db: Db) =>
    db
      .select(selectedWithCourse)
      .from(enrollments)
      .innerJoin(courses, and(eq(courses.id, enrollments.courseId), isNull(courses.deletedAt)))
      .innerJoin(users, eq(users.id, courses.instructorId));

  // The summary on every GET /users/me, in one round trip: the window count is taken over every
  // matching row before LIMIT applies. The instructor's name is a subquery of the select list,
  // which PostgreSQL evaluates only for the rows LIMIT lets through (a join would look up the
  // instructor of every active enrollment). Prepared, as its shape never changes.
  const latestActive = prepared(database, 'enrollments_latest_active', (db) =>
    db
      .select({
        ...selectedWithCourse,
        course: {
          ...selectedWithCourse.course,
          instructorName: sql<string>`(select ${users.name} from ${users} where ${users.id} = ${courses.instructorId})`,
        },
        total: sql<number>`count(*) over ()`.mapWith(Number),
      })
      .from(enrollments)
      .innerJoin(courses, and(eq(courses.id, enrollments.courseId), isNull(courses.deletedAt)))
      .where(
        and(eq(enrollments.userId, sql.placeholder('userId')), eq(enrollments.status, 'active')),
      )
      .orderBy(...newestFirst)
      .limit(sql.placeholder('limit')),
  );

  return {
    async find(tx: Db, courseId: string, userId: string) {
      const [row] = await tx
        .select()
        .from(enrollments)
        .where(and(eq(enrollments.courseId, courseId), eq(enrollments.userId, userId)))
        .limit(1);
      return row;
    },

    /**
     * Locks a student's enrollment row until `tx` ends, so that their completions in a course are
     * counted one after another. SQLite's writes already run one at a time.
     */
    async lock(tx: Db, courseId: string, userId: string): Promise<void> {
      if (database.dialect !== 'postgresql') return;
      await tx
        .select({ id: enrollments.id })
        .from(enrollments)
        .where(and(eq(enrollments.courseId, courseId), eq(enrollments.userId, userId)))
        .for('update');
    },

    async insert(tx: Db, courseId: string, userId: string) {
      const row = {
        id: crypto.randomUUID(),
        courseId,
        userId,
        status: 'active' as const,
        enrolledAt: new Date(),
        cancelledAt: null,
      };
      await tx.insert(enrollments).values(row);
      return row;
    },

    async setStatus(tx: Db, id: string, status: EnrollmentStatus) {
      const now = new Date();
      const changes =
        status === 'active'
          ? { status, enrolledAt: now, cancelledAt: null }
          : { status, cancelledAt: now };
      const [row] = await tx
        .update(enrollments)
        .set(changes)
        .where(eq(enrollments.id, id))
        .returning();
      return written(row);
    },

    /**
     * Cancels every active enrollment of a user and frees their seats, inside `tx`; the
     * enrollments as they are now, each with its course's published lesson count.
     */
    async cancelAllForUser(tx: Db, userId: string) {
      const active = and(eq(enrollments.userId, userId), eq(enrollments.status, 'active'));
      const held = tx.select({ id: enrollments.courseId }).from(enrollments).where(active);
      // The course rows are locked first, in id order, as enrollments lock them: seats stay
      // consistent with concurrent enrollments, and two deletions cannot deadlock each other.
      if (database.dialect === 'postgresql') {
        await tx
          .select({ id: courses.id })
          .from(courses)
          .where(inArray(courses.id, held))
          .orderBy(courses.id)
          .for('update');
      }
      const cancelling = await tx
        .select({ enrollment: enrollments, lessonCount: courses.lessonCount })
        .from(enrollments)
        .innerJoin(courses, eq(courses.id, enrollments.courseId))
        .where(active);
      await tx
        .update(courses)
        .set({ enrolledCount: sql`${courses.enrolledCount} - 1` })
        .where(inArray(courses.id, held));
      const cancelledAt = new Date();
      await tx.update(enrollments).set({ status: 'cancelled', cancelledAt }).where(active);
      return cancelling.map(({ enrollment, lessonCount }) => ({
        ...enrollment,
        status: 'cancelled' as const,
        cancelledAt,
        lessonCount,
      }));
    },

    /**
     * One page of a course's enrollments with each user's id, name and email. Deleted accounts
     * are left out: they keep no name or email to show, and their enrollments were cancelled.
     */
    listForCourse(courseId: string, query: EnrollmentPageQuery) {
      return database.db
        .select({
          id: enrollments.id,
          status: enrollments.status,
          enrolledAt: enrollments.enrolledAt,
          cancelledAt: enrollments.cancelledAt,
          userId: enrollments.userId,
          user: { id: users.id, name: users.name, email: users.email },
        })
        .from(enrollments)
        .innerJoin(users, and(eq(users.id, enrollments.userId), isNull(users.deletedAt)))
        .where(and(eq(enrollments.courseId, courseId), ...pageConditions(query)))
        .orderBy(...newestFirst)
        .limit(query.limit);
    },

    /** One page of a user's enrollments in courses that are not deleted. */
    listForUser(userId: string, query: EnrollmentPageQuery) {
      return selectWithCourse(database.db)
        .where(and(eq(enrollments.userId, userId), ...pageConditions(query)))
        .orderBy(...newestFirst)
        .limit(query.limit);
    },

    /** How many active enrollments a user has, and the most recent of them with their courses. */
    async latestActiveForUser(userId: string, limit: number) {
      const rows = await latestActive({ userId, limit });
      return { total: rows[0]?.total ?? 0, items: rows };
    },
  };
}

export type EnrollmentStore = ReturnType<typeof createEnrollmentStore>;
export type EnrollmentRow = NonNullable<Awaited<ReturnType<EnrollmentStore['find']>>>;
export type UserEnrollmentRow = Awaited<ReturnType<EnrollmentStore['listForUser']>>[number];
