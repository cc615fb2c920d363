import type { components } from '../generated/openapi';
import type { CourseRecord, CourseStore } from '../data/courses';
import type {
  ContentStore,
  LessonFields,
  LessonPlace,
  LessonRow,
  OutlineLessonRow,
  SectionRow,
} from '../data/content';
import { pairKey } from '../data/content';
import type { Database, Db } from '../data/database';
import type { EnrollmentStore } from '../data/enrollments';
import { HttpProblem, problems } from '../errors';
import type { Metrics } from '../observability/metrics';
import type { Caller } from './auth';
import { canManage, canSee, courseNotFound, requireManager } from './courses';
import type { Outbox } from './outbox';
import { toProgress, toProgressIn } from './progress';
import { requireIfMatch } from './versions';

type Schemas = components['schemas'];
export type Section = Schemas['Section'];
export type Lesson = Schemas['Lesson'];
export type CourseOutline = Schemas['CourseOutline'];
type OutlineLesson = Schemas['OutlineLesson'];
type CreateLessonRequest = Schemas['CreateLessonRequest'];
type UpdateLessonRequest = Schemas['UpdateLessonRequest'];
type ReplaceCourseOutlineRequest = Schemas['ReplaceCourseOutlineRequest'];

/** What a course may hold: the outline's request body must fit in 100 kB. */
export const MAX_SECTIONS = 100;
export const MAX_LESSONS = 1_000;

const iso = (date: Date) => date.toISOString();

function toSection(row: SectionRow): Section {
  return {
    id: row.id,
    courseId: row.courseId,
    title: row.title,
    position: row.position,
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
  };
}

/** What a lesson and its line in an outline share: everything but the body and the url. */
function lessonFields(row: OutlineLessonRow | LessonRow) {
  return {
    id: row.id,
    courseId: row.courseId,
    sectionId: row.sectionId,
    title: row.title,
    summary: row.summary,
    kind: row.kind,
    durationMinutes: row.durationMinutes,
    preview: row.preview,
    status: row.status,
    position: row.position,
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
  };
}

function toLesson(row: LessonRow): Lesson {
  return { ...lessonFields(row), body: row.body, url: row.url };
}

function toOutlineLesson(row: OutlineLessonRow): OutlineLesson {
  return { ...lessonFields(row), completedAt: row.completedAt ? iso(row.completedAt) : null };
}

/** A video or a link lesson points somewhere: the document says so, the validator cannot. */
function requireUrl(fields: LessonFields): LessonFields {
  if (fields.kind !== 'text' && fields.url === null) {
    throw problems.badRequest('A video or link lesson needs a url.', [
      { path: 'body.url', message: `is required for a ${fields.kind} lesson` },
    ]);
  }
  return fields;
}

const enrollmentRequired = () =>
  new HttpProblem(403, 'enrollment-required', 'Enroll in the course to see its lessons.');

export interface ContentDeps {
  database: Database;
  courses: CourseStore;
  content: ContentStore;
  enrollments: EnrollmentStore;
  metrics: Metrics;
  outbox: Outbox;
}

/**
 * Outlines, sections, lessons and completions: who may see and change them. Every write runs in
 * one transaction under the course's lock, so positions, counters and `If-Match` are decided on
 * an outline nobody else is changing.
 */
export function createContentService(deps: ContentDeps) {
  const { database, courses, content, enrollments, metrics, outbox } = deps;

  /** The course's outline as `caller` sees it (drafts for managers), inside `db`. */
  async function outlineOf(
    caller: Caller | undefined,
    course: CourseRecord,
    db: Db = database.db,
  ): Promise<CourseOutline> {
    const drafts = caller !== undefined && canManage(caller, course);
    const [sectionRows, lessonRows] = await Promise.all([
      content.sectionsOf(course.id, db),
      content.outlineLessonsOf(course.id, { userId: caller?.userId, drafts }, db),
    ]);
    const sections = sectionRows.map((row) => ({
      ...toSection(row),
      lessons: [] as OutlineLesson[],
    }));
    const byId = new Map(sections.map((section) => [section.id, section]));
    for (const row of lessonRows) byId.get(row.sectionId)?.lessons.push(toOutlineLesson(row));
    return { courseId: course.id, sections };
  }

  /** A student's progress through `course`. */
  async function progressOf(course: CourseRecord, userId: string, db: Db) {
    const pair = { courseId: course.id, userId };
    const counts = await content.completionsOf([pair], db);
    return toProgressIn(course.lessonCount, counts.get(pairKey(pair)));
  }

  /** Runs a manager's write on a course's content, under the course's lock. */
  function managing<T>(
    caller: Caller,
    courseId: string,
    write: (tx: Db, course: CourseRecord) => Promise<T>,
  ): Promise<T> {
    return database.transaction(async (tx) => {
      await courses.lock(tx, courseId);
      return write(tx, requireManager(caller, await courses.find(courseId, tx)));
    });
  }

  async function sectionOf(tx: Db, courseId: string, sectionId: string) {
    const section = await content.findSection(courseId, sectionId, tx);
    if (!section) throw problems.notFound('No such section in this course.');
    return section;
  }

  async function lessonOf(db: Db, courseId: string, lessonId: string) {
    const lesson = await content.findLesson(courseId, lessonId, db);
    if (!lesson) throw problems.notFound('No such lesson in this course.');
    return lesson;
  }

  /**
   * The course of a published lesson a student works on: 404 where the course or the lesson is
   * not visible (drafts included), 403 without an active enrollment.
   */
  async function studentLesson(caller: Caller, courseId: string, lessonId: string) {
    const course = await courses.find(courseId);
    if (!course || !canSee(caller, course)) throw courseNotFound();
    const lesson = await content.findLesson(courseId, lessonId);
    if (!lesson || lesson.status !== 'published') {
      throw problems.notFound('No such lesson in this course.');
    }
    const enrollment = await enrollments.find(database.db, courseId, caller.userId);
    if (enrollment?.status !== 'active') throw enrollmentRequired();
    return course;
  }

  return {
    async outline(caller: Caller | undefined, courseId: string): Promise<CourseOutline> {
      const course = await courses.find(courseId);
      if (!course || !canSee(caller, course)) throw courseNotFound();
      return outlineOf(caller, course);
    },

    /**
     * Puts every section and lesson where the request says, moves between sections included.
     * The request must name each of them exactly once; only what moves is written.
     */
    async replaceOutline(
      caller: Caller,
      courseId: string,
      body: ReplaceCourseOutlineRequest,
      ifMatch?: string,
    ): Promise<CourseOutline> {
      return managing(caller, courseId, async (tx, course) => {
        const current = await outlineOf(caller, course, tx);
        requireIfMatch(ifMatch, current, 'outline');
        const mismatch = outlineMismatch(current, body);
        if (mismatch) throw problems.conflict('outline-mismatch', mismatch);
        const sectionMoves: { id: string; position: number }[] = [];
        const lessonMoves: LessonPlace[] = [];
        const now = new Map(
          current.sections.flatMap((s) => s.lessons.map((l) => [l.id, l] as const)),
        );
        body.sections.forEach((section, position) => {
          const was = current.sections.find((s) => s.id === section.id);
          if (was?.position !== position) sectionMoves.push({ id: section.id, position });
          section.lessonIds.forEach((id, index) => {
            const lesson = now.get(id);
            if (lesson?.sectionId !== section.id || lesson.position !== index) {
              lessonMoves.push({ id, sectionId: section.id, position: index });
            }
          });
        });
        await content.arrange(tx, sectionMoves, lessonMoves);
        return outlineOf(caller, course, tx);
      });
    },

    async createSection(caller: Caller, courseId: string, title: string): Promise<Section> {
      return managing(caller, courseId, async (tx) => {
        const size = await content.sizeOf(tx, courseId);
        if (size.sections >= MAX_SECTIONS) {
          throw problems.conflict('conflict', `A course holds at most ${MAX_SECTIONS} sections.`);
        }
        return toSection(await content.insertSection(tx, courseId, title));
      });
    },

    async renameSection(
      caller: Caller,
      courseId: string,
      sectionId: string,
      title: string,
    ): Promise<Section> {
      return managing(caller, courseId, async (tx) => {
        await sectionOf(tx, courseId, sectionId);
        return toSection(await content.renameSection(tx, sectionId, title));
      });
    },

    async deleteSection(caller: Caller, courseId: string, sectionId: string): Promise<void> {
      await managing(caller, courseId, async (tx) => {
        await sectionOf(tx, courseId, sectionId);
        if (await content.holdsLessons(tx, sectionId)) {
          throw problems.conflict(
            'section-not-empty',
            'Move or delete the lessons of the section first.',
          );
        }
        await content.deleteSection(tx, courseId, sectionId);
      });
    },

    async createLesson(
      caller: Caller,
      courseId: string,
      sectionId: string,
      body: CreateLessonRequest,
    ): Promise<Lesson> {
      return managing(caller, courseId, async (tx) => {
        await sectionOf(tx, courseId, sectionId);
        const size = await content.sizeOf(tx, courseId);
        if (size.lessons >= MAX_LESSONS) {
          throw problems.conflict('conflict', `A course holds at most ${MAX_LESSONS} lessons.`);
        }
        const fields = requireUrl({
          title: body.title,
          summary: body.summary ?? null,
          kind: body.kind,
          body: body.body ?? null,
          url: body.url ?? null,
          durationMinutes: body.durationMinutes ?? null,
          preview: body.preview ?? false,
          status: body.status ?? 'draft',
        });
        const row = await content.insertLesson(tx, courseId, sectionId, fields);
        if (row.status === 'published') await content.refreshCounters(tx, courseId);
        return toLesson(row);
      });
    },

    /**
     * A lesson's content: for managers; for anyone where it is a published preview of a published
     * course; for students with an active enrollment. Drafts are 404 to everyone else.
     */
    async lesson(caller: Caller | undefined, courseId: string, lessonId: string): Promise<Lesson> {
      const course = await courses.find(courseId);
      if (!course || !canSee(caller, course)) throw courseNotFound();
      const lesson = await lessonOf(database.db, courseId, lessonId);
      if (caller && canManage(caller, course)) return toLesson(lesson);
      if (lesson.status !== 'published') throw problems.notFound('No such lesson in this course.');
      if (lesson.preview && course.status === 'published') return toLesson(lesson);
      const enrollment = caller && (await enrollments.find(database.db, courseId, caller.userId));
      if (enrollment?.status !== 'active') throw enrollmentRequired();
      return toLesson(lesson);
    },

    async updateLesson(
      caller: Caller,
      courseId: string,
      lessonId: string,
      body: UpdateLessonRequest,
      ifMatch?: string,
    ): Promise<Lesson> {
      return managing(caller, courseId, async (tx) => {
        const current = await lessonOf(tx, courseId, lessonId);
        requireIfMatch(ifMatch, toLesson(current), 'lesson');
        const fields = requireUrl({
          title: body.title ?? current.title,
          summary: body.summary !== undefined ? body.summary : current.summary,
          kind: body.kind ?? current.kind,
          body: body.body !== undefined ? body.body : current.body,
          url: body.url !== undefined ? body.url : current.url,
          durationMinutes:
            body.durationMinutes !== undefined ? body.durationMinutes : current.durationMinutes,
          preview: body.preview ?? current.preview,
          status: body.status ?? current.status,
        });
        const row = await content.updateLesson(tx, lessonId, fields);
        if (current.status === 'published' || row.status === 'published') {
          await content.refreshCounters(tx, courseId);
        }
        return toLesson(row);
      });
    },

    async deleteLesson(caller: Caller, courseId: string, lessonId: string): Promise<void> {
      await managing(caller, courseId, async (tx) => {
        const lesson = await lessonOf(tx, courseId, lessonId);
        await content.deleteLesson(tx, lesson);
        if (lesson.status === 'published') await content.refreshCounters(tx, courseId);
      });
    },

    /**
     * Marks a lesson complete, once: a second call keeps the first completion's time. A first
     * completion tells of itself (`lesson.completed`) and, when it brings the student's progress
     * to 100%, of the course's (`course.completed`), in its transaction. A student's completions
     * in a course run one at a time (their enrollment row is locked), so that of two completed at
     * once, the second counts the first.
     */
    async complete(caller: Caller, courseId: string, lessonId: string) {
      const course = await studentLesson(caller, courseId, lessonId);
      const { userId } = caller;
      const { completion, recorded } = await database.transaction(async (tx) => {
        await enrollments.lock(tx, courseId, userId);
        const { completedAt, recorded } = await content.complete(tx, courseId, userId, lessonId);
        const progress = await progressOf(course, userId, tx);
        const completion = { lessonId, completedAt: completedAt.toISOString(), progress };
        if (recorded) {
          await outbox.emit(tx, 'lesson.completed', { courseId, userId, ...completion });
          // Complete now, and not before: this new completion (of a published lesson, which
          // progress counts) is what made it whole.
          if (progress.completedAt !== null) {
            await outbox.emit(tx, 'course.completed', { courseId, userId, progress });
          }
        }
        return { completion, recorded };
      });
      if (recorded) metrics.lessonCompletions.inc();
      return completion;
    },

    async uncomplete(caller: Caller, courseId: string, lessonId: string): Promise<void> {
      await studentLesson(caller, courseId, lessonId);
      await content.uncomplete(courseId, caller.userId, lessonId);
    },

    /** A student's progress, lesson by lesson: for whoever is or was enrolled in the course. */
    async progress(caller: Caller, courseId: string) {
      const course = await courses.find(courseId);
      if (!course || !canSee(caller, course)) throw courseNotFound();
      const enrollment = await enrollments.find(database.db, courseId, caller.userId);
      if (!enrollment) throw enrollmentRequired();
      const rows = await content.publishedLessonsWithCompletion(courseId, caller.userId);
      const done = rows.flatMap((row) => (row.completedAt ? [row.completedAt] : []));
      const latest = done.reduce<Date | null>((a, b) => (a && a > b ? a : b), null);
      return {
        courseId,
        ...toProgress({
          lessonCount: rows.length,
          completedLessons: done.length,
          lastCompletedAt: latest,
        }),
        lessons: rows.map((row) => ({
          lessonId: row.lessonId,
          completedAt: row.completedAt ? iso(row.completedAt) : null,
        })),
      };
    },
  };
}

/**
 * Why a new outline is refused, or undefined when it names each of the course's sections and
 * lessons exactly once.
 */
export function outlineMismatch(
  current: CourseOutline,
  next: ReplaceCourseOutlineRequest,
): string | undefined {
  const sameSet = (have: string[], want: string[]) => {
    const named = new Set(have);
    return (
      have.length === want.length && named.size === have.length && want.every((id) => named.has(id))
    );
  };
  const sectionIds = current.sections.map((section) => section.id);
  if (
    !sameSet(
      next.sections.map((section) => section.id),
      sectionIds,
    )
  ) {
    return `Name each of the course's ${sectionIds.length} sections exactly once.`;
  }
  const lessonIds = current.sections.flatMap((section) => section.lessons.map((l) => l.id));
  if (
    !sameSet(
      next.sections.flatMap((section) => section.lessonIds),
      lessonIds,
    )
  ) {
    return `Name each of the course's ${lessonIds.length} lessons exactly once.`;
  }
  return undefined;
}

export type ContentService = ReturnType<typeof createContentService>;
