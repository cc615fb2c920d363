import type { components, operations } from '../generated/openapi';
import type { Database, Db } from '../data/database';
import { pairKey, type ContentStore } from '../data/content';
import type { CourseStore } from '../data/courses';
import type {
  EnrollmentPageQuery,
  EnrollmentRow,
  EnrollmentStore,
  UserEnrollmentRow,
} from '../data/enrollments';
import { problems } from '../errors';
import { recordOutcome, type Metrics } from '../observability/metrics';
import type { Caller } from './auth';
import { canSee, courseNotFound, requireManager } from './courses';
import { listingScope, type CursorCodec } from './cursor';
import type { Outbox } from './outbox';
import { fetchPage } from './paging';
import { toProgressIn, type Progress } from './progress';

type Schemas = components['schemas'];
type CurrentUserEnrollments = Schemas['CurrentUserEnrollments'];
export type Enrollment = Schemas['Enrollment'];
type MyEnrollment = Schemas['MyEnrollment'];
type CourseEnrollment = Schemas['CourseEnrollment'];

/** The query parameters both enrollment lists take, as the document declares them. */
export type EnrollmentListRequest = NonNullable<
  operations['listMyEnrollments']['parameters']['query']
>;

const SUMMARY_SIZE = 10;

function toEnrollment(row: EnrollmentRow, progress: Progress): Enrollment {
  return {
    id: row.id,
    courseId: row.courseId,
    userId: row.userId,
    status: row.status,
    enrolledAt: row.enrolledAt.toISOString(),
    cancelledAt: row.cancelledAt?.toISOString() ?? null,
    progress,
  };
}

function toMyEnrollment(row: UserEnrollmentRow, progress: Progress): MyEnrollment {
  const { course } = row;
  return {
    ...toEnrollment(row, progress),
    course: {
      id: course.id,
      title: course.title,
      status: course.status,
      instructor: { id: course.instructorId, name: course.instructorName },
    },
  };
}

export interface EnrollmentDeps {
  database: Database;
  cursors: CursorCodec;
  courses: CourseStore;
  enrollments: EnrollmentStore;
  content: ContentStore;
  metrics: Metrics;
  outbox: Outbox;
}

export function createEnrollmentService(deps: EnrollmentDeps) {
  const { database, cursors, courses, enrollments: store, content, metrics, outbox } = deps;

  /**
   * The progress of each enrollment of a page, in order: one query for the whole page (none for
   * an empty one), whatever its size and however many lessons its students completed.
   */
  async function withProgress<R extends { courseId: string; userId: string; lessonCount: number }>(
    rows: R[],
    db: Db = database.db,
  ): Promise<(R & { progress: Progress })[]> {
    const counts = await content.completionsOf(rows, db);
    return rows.map((row) => ({
      ...row,
      progress: toProgressIn(row.lessonCount, counts.get(pairKey(row))),
    }));
  }

  /** `enrollment.cancelled` for each of these enrollments, just cancelled inside `tx`. */
  async function announceCancelled(tx: Db, rows: (EnrollmentRow & { lessonCount: number })[]) {
    for (const row of await withProgress(rows, tx)) {
      await outbox.emit(tx, 'enrollment.cancelled', toEnrollment(row, row.progress));
    }
  }

  /** A student's progress in a course, from their enrollment there (none yet: nothing done). */
  async function progressIn(
    course: { lessonCount: number },
    enrollment: EnrollmentRow | undefined,
    db: Db = database.db,
  ): Promise<Progress> {
    const [counted] = await withProgress(
      enrollment ? [{ ...enrollment, lessonCount: course.lessonCount }] : [],
      db,
    );
    return counted?.progress ?? toProgressIn(course.lessonCount, undefined);
  }

  /** The caller's active enrollment in a course it may enroll in, read without locking. */
  async function alreadyEnrolled(caller: Caller, courseId: string) {
    const course = await courses.find(courseId);
    if (!course || course.status !== 'published' || course.instructorId === caller.userId) {
      return undefined;
    }
    const existing = await store.find(database.db, courseId, caller.userId);
    if (existing?.status !== 'active') return undefined;
    return {
      enrollment: toEnrollment(existing, await progressIn(course, existing)),
      created: false,
    };
  }

  /** One page of an enrollment list, newest first: (enrolledAt, id) is its keyset. */
  function pageOf<R extends { id: string; enrolledAt: Date }>(
    scope: string,
    request: EnrollmentListRequest,
    fetch: (query: EnrollmentPageQuery) => Promise<R[]>,
  ) {
    return fetchPage(cursors, {
      scope,
      request,
      kinds: ['number', 'string'] as const,
      fetch: (after, limit) =>
        fetch({
          status: request.status,
          limit,
          after: after && { enrolledAt: new Date(after[0]), id: after[1] },
        }),
      keyOf: (row) => [row.enrolledAt.getTime(), row.id],
    });
  }

  return {
    /**
     * Takes a seat. Everything happens in one transaction under the course's row lock, so the
     * seat count read is the one written, whatever else runs at the same time. Enrolling again
     * (a client's retry) is answered first from committed rows, without the lock or a
     * transaction, when the caller already holds an active seat in a course it may enroll in;
     * anything else goes to the lock and is decided there.
     */
    async enroll(
      caller: Caller,
      courseId: string,
    ): Promise<{ enrollment: Enrollment; created: boolean }> {
      const taking = (async () =>
        (await alreadyEnrolled(caller, courseId)) ??
        database.transaction(async (tx) => {
          await courses.lock(tx, courseId);
          const course = await courses.find(courseId, tx);
          if (!course || !canSee(caller, course)) throw courseNotFound();
          if (course.instructorId === caller.userId) {
            throw problems.forbidden('An instructor cannot enroll in its own course.');
          }
          if (course.status !== 'published') {
            throw problems.conflict(
              'course-not-published',
              'The course is not open for enrollment.',
            );
          }
          const existing = await store.find(tx, courseId, caller.userId);
          if (existing?.status === 'active') {
            return {
              enrollment: toEnrollment(existing, await progressIn(course, existing, tx)),
              created: false,
            };
          }
          if (course.capacity !== null && course.enrolledCount >= course.capacity) {
            throw problems.conflict('course-full', 'Every seat of the course is taken.');
          }
          const row = existing
            ? await store.setStatus(tx, existing.id, 'active')
            : await store.insert(tx, courseId, caller.userId);
          await courses.addEnrolled(tx, courseId, 1);
          // Completions outlive a cancelled enrollment: coming back keeps them. A first
          // enrollment has none to count.
          const enrollment = toEnrollment(row, await progressIn(course, existing, tx));
          await outbox.emit(tx, 'enrollment.created', enrollment);
          return { enrollment, created: true };
        }))();
      return recordOutcome(
        (result) => metrics.enrollments.inc({ result }),
        ({ created }) => (created ? 'created' : 'already_enrolled'),
        taking,
      );
    },

    /** Gives the seat back; the enrollment stays, cancelled. */
    async unenroll(caller: Caller, courseId: string): Promise<void> {
      await database.transaction(async (tx) => {
        await courses.lock(tx, courseId);
        const course = await courses.find(courseId, tx);
        const existing = course ? await store.find(tx, courseId, caller.userId) : undefined;
        if (existing?.status !== 'active') {
          throw problems.notFound('You are not enrolled in this course.');
        }
        const row = await store.setStatus(tx, existing.id, 'cancelled');
        await courses.addEnrolled(tx, courseId, -1);
        await announceCancelled(tx, [{ ...row, lessonCount: course?.lessonCount ?? 0 }]);
      });
    },

    async listForCourse(caller: Caller, courseId: string, request: EnrollmentListRequest) {
      const course = requireManager(caller, await courses.find(courseId));
      const scope = listingScope('course-enrollments', { courseId, status: request.status });
      const page = await pageOf(scope, request, (query) => store.listForCourse(courseId, query));
      const rows = await withProgress(
        page.items.map((row) => ({ ...row, courseId, lessonCount: course.lessonCount })),
      );
      const items = rows.map((row): CourseEnrollment => ({
        user: row.user,
        status: row.status,
        enrolledAt: row.enrolledAt.toISOString(),
        cancelledAt: row.cancelledAt?.toISOString() ?? null,
        progress: row.progress,
      }));
      return { items, nextCursor: page.nextCursor };
    },

    async listForUser(userId: string, request: EnrollmentListRequest) {
      const scope = listingScope('my-enrollments', { userId, status: request.status });
      const page = await pageOf(scope, request, (query) => store.listForUser(userId, query));
      const rows = await withProgress(page.items);
      return {
        items: rows.map((row) => toMyEnrollment(row, row.progress)),
        nextCursor: page.nextCursor,
      };
    },

    /** The caller's active enrollment count and 10 most recent active enrollments. */
    async summaryForUser(userId: string): Promise<CurrentUserEnrollments> {
      const { total, items } = await store.latestActiveForUser(userId, SUMMARY_SIZE);
      const rows = await withProgress(items);
      return {
        total,
        items: rows.map((row) => {
          const { id, status, enrolledAt, course, progress } = toMyEnrollment(row, row.progress);
          return { id, status, enrolledAt, course, progress };
        }),
      };
    },

    /** Ends every active enrollment of a user being deleted, freeing the seats, inside `tx`. */
    async cancelAllForUser(tx: Db, userId: string): Promise<void> {
      await announceCancelled(tx, await store.cancelAllForUser(tx, userId));
    },
  };
}

export type EnrollmentService = ReturnType<typeof createEnrollmentService>;
