import type { components, operations } from '../generated/openapi';
import type { Database, Db } from '../data/database';
import {
  createCourseStore,
  type CourseRecord,
  type CourseSort,
  type CourseStore,
} from '../data/courses';
import { HttpProblem, problems } from '../errors';
import type { Caller } from './auth';
import { listingScope, type CursorCodec } from './cursor';

type Schemas = components['schemas'];
export type Course = Schemas['Course'];
type CreateCourseRequest = Schemas['CreateCourseRequest'];
type UpdateCourseRequest = Schemas['UpdateCourseRequest'];

/** listCourses' query parameters, as the document declares them. */
export type CourseListRequest = NonNullable<operations['listCourses']['parameters']['query']>;

/** `If-Match` and the way to compute the current version's ETag (the HTTP layer's own). */
export interface Precondition {
  ifMatch: string;
  etagOf(course: Course): string;
}

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
    instructor: { id: row.instructorId, name: row.instructorName },
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    publishedAt: row.publishedAt?.toISOString() ?? null,
  };
}

/** RFC 9110 strong comparison against a list of entity tags; `*` matches any current version. */
function ifMatchHolds(header: string, current: string): boolean {
  const tags = header.split(',').map((tag) => tag.trim());
  return tags.includes('*') || tags.includes(current);
}

export function createCourseService(deps: { database: Database; cursors: CursorCodec }) {
  const { database, cursors } = deps;
  const store: CourseStore = createCourseStore(database);

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
      const created = await store.insert({
        title: body.title,
        description: body.description ?? '',
        category: body.category ?? null,
        level: body.level ?? null,
        language: body.language ?? 'en',
        status: body.status ?? 'draft',
        capacity: body.capacity ?? null,
        instructorId,
      });
      return toCourse(created);
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
      precondition?: Precondition,
    ): Promise<Course> {
      return database.transaction(async (tx) => {
        await store.lock(tx, id);
        const current = requireManager(caller, await store.find(id, tx));
        if (
          precondition &&
          !ifMatchHolds(precondition.ifMatch, precondition.etagOf(toCourse(current)))
        ) {
          throw new HttpProblem(
            412,
            'precondition-failed',
            'The course has changed since the version in If-Match; read it again.',
          );
        }
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
          language: body.language,
          status: body.status,
          capacity: body.capacity,
          // Set the first time the course is published, and kept from then on.
          publishedAt: current.publishedAt ?? (body.status === 'published' ? new Date() : null),
        });
        return toCourse(await store.findWritten(tx, id));
      });
    },

    async remove(caller: Caller, id: string): Promise<void> {
      requireManager(caller, await store.find(id));
      await store.softDelete(id);
    },

    async list(caller: Caller | undefined, request: CourseListRequest) {
      const status = request.status ?? 'published';
      const sort = request.sort ?? '-createdAt';
      const limit = request.limit ?? 20;
      const empty = { items: [] as Course[], nextCursor: null as string | null };
      let ownerId: string | undefined;
      if (status !== 'published') {
        // Drafts and archived courses: an admin sees all, anyone else only its own.
        if (!caller) return empty;
        if (caller.role !== 'admin') ownerId = caller.userId;
      }
      const { instructorId, category, level, q } = request;
      const scope = listingScope('courses', {
        sort,
        status,
        ownerId,
        instructorId,
        category,
        level,
        q,
      });
      const after = request.cursor
        ? decodePosition(cursors, scope, request.cursor, sort)
        : undefined;
      const rows = await store.list({
        status,
        ownerId,
        instructorId: request.instructorId,
        category: request.category,
        level: request.level,
        q: request.q,
        sort,
        after,
        limit: limit + 1,
      });
      const page = cursors.page(scope, rows, limit, (last) => [
        sort.endsWith('createdAt') ? last.createdAt.getTime() : last.title,
        last.id,
      ]);
      return { items: page.items.map(toCourse), nextCursor: page.nextCursor };
    },

    /** Whether the user still owns courses that are not deleted (they block deleting the user). */
    async ownsLiveCourses(tx: Db, userId: string): Promise<boolean> {
      return store.ownsLive(tx, userId);
    },
  };
}

/** The keyset position in a course cursor, checked to have the shape its sort needs. */
function decodePosition(cursors: CursorCodec, scope: string, cursor: string, sort: CourseSort) {
  if (sort.endsWith('createdAt')) {
    const [at, id] = cursors.decode(scope, cursor, ['number', 'string'] as const);
    return { value: new Date(at), id };
  }
  const [title, id] = cursors.decode(scope, cursor, ['string', 'string'] as const);
  return { value: title, id };
}

export type CourseService = ReturnType<typeof createCourseService>;
