import type { components, operations } from '../generated/openapi';
import type { Database, Db } from '../data/database';
import type { CourseRecord, CourseStore } from '../data/courses';
import { canonicalLanguageTag, type CourseStatus } from '../domain';
import { problems } from '../errors';
import type { Caller } from './auth';
import { listingScope, type CursorCodec } from './cursor';
import type { Outbox } from './outbox';
import { fetchPage, type Page } from './paging';
import { createSharedReads } from './shared-reads';
import { requireIfMatch } from './versions';

type Schemas = components['schemas'];
export type Course = Schemas['Course'];
type CreateCourseRequest = Schemas['CreateCourseRequest'];
type UpdateCourseRequest = Schemas['UpdateCourseRequest'];

/** listCourses' query parameters, as the document declares them. */
export type CourseListRequest = NonNullable<operations['listCourses']['parameters']['query']>;

/** The owner and admins see every course; everyone else only published ones. */
export function canSee(caller: Caller | undefined, course: CourseRecord): boolean {
  return course.status === 'published' || (caller !== undefined && canManage(caller, course));
}

export function canManage(caller: Caller, course: CourseRecord): boolean {
  return caller.role === 'admin' || course.instructorId === caller.userId;
}

/** Visibility before permission: 404 where the caller cannot see the course, else 403. */
export function requireManager(caller: Caller, course: CourseRecord | undefined): CourseRecord {
  if (!course || !canSee(caller, course)) throw courseNotFound();
  if (!canManage(caller, course)) {
    throw problems.forbidden('Only the course owner or an admin may do this.');
  }
  return course;
}

export const courseNotFound = () => problems.notFound('No such course.');

export function toCourse(row: CourseRecord): Course {
  return {
    id: row.id,
    title: row.title,
    description: row.description,
    category: row.category,
    level: row.level,
    language: row.language,
    status: row.status,
    capacity: row.capacity,
    enrolledCount: row.enrolledCount,
    lessonCount: row.lessonCount,
    totalDurationMinutes: row.totalDurationMinutes,
    instructor: { id: row.instructorId, name: row.instructorName },
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    publishedAt: row.publishedAt?.toISOString() ?? null,
  };
}

export interface CourseDeps {
  database: Database;
  cursors: CursorCodec;
  courses: CourseStore;
  outbox: Outbox;
}

export function createCourseService(deps: CourseDeps) {
  const { database, cursors, courses: store, outbox } = deps;
  // Published listings are the same for every caller: the copies asked at once share a query.
  const shared = createSharedReads();

  /** `course.published` or `course.archived` when a write moved the course to that status. */
  async function announceStatus(tx: Db, before: CourseStatus | undefined, course: Course) {
    if (course.status === before) return;
    if (course.status === 'published') await outbox.emit(tx, 'course.published', course);
    if (course.status === 'archived') await outbox.emit(tx, 'course.archived', course);
  }

  return {
    async create(caller: Caller, body: CreateCourseRequest): Promise<Course> {
      let instructorId = caller.userId;
      if (body.instructorId !== undefined && body.instructorId !== caller.userId) {
        if (caller.role !== 'admin') {
          throw problems.forbidden('Only an admin may create a course for another instructor.');
        }
        if (!(await store.isActiveInstructor(body.instructorId))) {
          throw problems.badRequest('The named owner is not an active instructor.', [
            { path: 'body.instructorId', message: 'is not an active instructor' },
          ]);
        }
        instructorId = body.instructorId;
      }
      return database.transaction(async (tx) => {
        const created = toCourse(
          await store.insert(tx, {
            title: body.title,
            description: body.description ?? '',
            category: body.category ?? null,
            level: body.level ?? null,
            language: canonicalLanguageTag(body.language ?? 'en'),
            status: body.status ?? 'draft',
            capacity: body.capacity ?? null,
            instructorId,
          }),
        );
        await outbox.emit(tx, 'course.created', created);
        await announceStatus(tx, undefined, created);
        return created;
      });
    },

    async get(caller: Caller | undefined, id: string): Promise<Course> {
      const course = await store.find(id);
      if (!course || !canSee(caller, course)) throw courseNotFound();
      return toCourse(course);
    },

    /**
     * Replaces the editable fields. The check of `If-Match`, of the capacity and the write happen
     * under the course's row lock, so two editors racing can never both win on one version.
     */
    async update(
      caller: Caller,
      id: string,
      body: UpdateCourseRequest,
      ifMatch?: string,
    ): Promise<Course> {
      return database.transaction(async (tx) => {
        await store.lock(tx, id);
        const current = requireManager(caller, await store.find(id, tx));
        requireIfMatch(ifMatch, toCourse(current), 'course');
        if (body.capacity !== null && body.capacity < current.enrolledCount) {
          throw problems.conflict(
            'capacity-below-enrolled',
            `The course already holds ${current.enrolledCount} active enrollments.`,
          );
        }
        await store.update(tx, id, {
          title: body.title,
          description: body.description,
          category: body.category,
          level: body.level,
          language: canonicalLanguageTag(body.language),
          status: body.status,
          capacity: body.capacity,
          // Set the first time the course is published, and kept from then on.
          publishedAt: current.publishedAt ?? (body.status === 'published' ? new Date() : null),
        });
        const updated = toCourse(await store.findWritten(tx, id));
        await outbox.emit(tx, 'course.updated', updated);
        await announceStatus(tx, current.status, updated);
        return updated;
      });
    },

    async remove(caller: Caller, id: string): Promise<void> {
      await database.transaction(async (tx) => {
        requireManager(caller, await store.find(id, tx));
        // Two deletions at once: only the one that deleted the row tells of it.
        if (await store.softDelete(tx, id)) await outbox.emit(tx, 'course.deleted', { id });
      });
    },

    async list(caller: Caller | undefined, request: CourseListRequest): Promise<Page<Course>> {
      const status = request.status ?? 'published';
      const sort = request.sort ?? '-createdAt';
      let ownerId: string | undefined;
      if (status !== 'published') {
        // Drafts and archived courses: an admin sees all, anyone else only its own.
        if (!caller) return { items: [], nextCursor: null };
        if (caller.role !== 'admin') ownerId = caller.userId;
      }
      const { instructorId, category, level, q } = request;
      // Canonical, so that `FR` and `fr` are one listing, and a cursor of one serves the other.
      const language = request.language && canonicalLanguageTag(request.language);
      const filters = { status, ownerId, instructorId, category, level, language, q };
      const byDate = sort.endsWith('createdAt');
      const scope = listingScope('courses', { sort, ...filters });
      const read = async () => {
        const page = await fetchPage(cursors, {
          scope,
          request,
          // The sort column's value (a date as milliseconds), then the id.
          kinds: byDate ? (['number', 'string'] as const) : (['string', 'string'] as const),
          fetch: (after, limit) =>
            store.list({ ...filters, sort, limit, after: after && positionOf(after) }),
          keyOf: (row) => [byDate ? row.createdAt.getTime() : row.title, row.id],
        });
        return { items: page.items.map(toCourse), nextCursor: page.nextCursor };
      };
      if (status !== 'published') return read();
      return shared(`${scope} ${request.limit ?? ''} ${request.cursor ?? ''}`, read);
    },

    /** Whether the user still owns courses that are not deleted (they block deleting the user). */
    async ownsLiveCourses(tx: Db, userId: string): Promise<boolean> {
      return store.ownsLive(tx, userId);
    },
  };
}

/** A course cursor's position as the store takes it: a number is a creation time in ms. */
function positionOf([value, id]: readonly [string | number, string]) {
  return { value: typeof value === 'number' ? new Date(value) : value, id };
}

export type CourseService = ReturnType<typeof createCourseService>;
