import { and, asc, count, eq, inArray, max, sql, type SQL } from 'drizzle-orm';
import type { AnyColumn } from 'drizzle-orm';
import type { Completions, LessonKind, LessonStatus } from '../domain';
import { written } from './courses';
import { prepared, type Database, type Db } from './database';

/** The fields of a lesson its editors set; the rest (ids, position, times) is the store's. */
export interface LessonFields {
  title: string;
  summary: string | null;
  kind: LessonKind;
  body: string | null;
  url: string | null;
  durationMinutes: number | null;
  preview: boolean;
  status: LessonStatus;
}

/** Where a lesson goes: its section and its 0-based position there. */
export interface LessonPlace {
  id: string;
  sectionId: string;
  position: number;
}

/**
 * Sections, lessons and completions: the API reads and writes them only here (scripts/seed.ts
 * fills them in bulk). It also keeps the course's `lesson_count` and `total_duration_minutes` in
 * step. Every write runs inside the caller's transaction, which holds the course's lock
 * (CourseStore.lock), so positions are decided on a outline nobody else changes meanwhile; the
 * unique (parent, position) indexes back that up.
 */
export function createContentStore(database: Database) {
  const { courses, sections, lessons, lessonCompletions: completions } = database.t;

  const outlineColumns = {
    id: lessons.id,
    courseId: lessons.courseId,
    sectionId: lessons.sectionId,
    title: lessons.title,
    summary: lessons.summary,
    kind: lessons.kind,
    durationMinutes: lessons.durationMinutes,
    preview: lessons.preview,
    status: lessons.status,
    position: lessons.position,
    createdAt: lessons.createdAt,
    updatedAt: lessons.updatedAt,
  };

  const published = eq(lessons.status, 'published');

  // A lesson's section, looked up among the course's own sections: the planner then reads them
  // through (course, position), not one primary-key probe per lesson.
  const ofCourse = (courseId: string) =>
    and(eq(sections.id, lessons.sectionId), eq(sections.courseId, courseId));

  /**
   * Moves rows of `table` to new positions (and, for lessons, sections) without ever breaking the
   * unique (parent, position) index: the rows that move first step aside to negative positions,
   * then take their places, each step one statement whatever the number of rows.
   */
  async function place(
    tx: Db,
    table: typeof sections | typeof lessons,
    moves: { id: string; position: number; sectionId?: string }[],
  ): Promise<void> {
    if (moves.length === 0) return;
    const ids = moves.map((move) => move.id);
    // PostgreSQL types a CASE of bare parameters as text: each value is cast to its column's type.
    const typed = (column: AnyColumn, value: unknown) =>
      database.dialect === 'postgresql'
        ? sql`CAST(${sql.param(value, column)} AS ${sql.raw(column.getSQLType())})`
        : sql.param(value, column);
    const caseOf = (column: AnyColumn, value: (move: (typeof moves)[number]) => unknown) =>
      sql`CASE ${sql.join(
        moves.map((move) => sql`WHEN ${table.id} = ${move.id} THEN ${typed(column, value(move))}`),
        sql` `,
      )} END`;
    await tx
      .update(table)
      .set({ position: sql`-1 - ${table.position}` })
      .where(inArray(table.id, ids));
    const now = new Date();
    const changes: Record<string, SQL | Date> = {
      position: caseOf(table.position, (move) => move.position),
      updatedAt: now,
    };
    if (table === lessons) changes.sectionId = caseOf(lessons.sectionId, (move) => move.sectionId);
    await tx.update(table).set(changes).where(inArray(table.id, ids));
  }

  /**
   * `column` is one of `values`; without them, one of the uuid array in placeholder `name`, which
   * only PostgreSQL takes.
   */
  const among = (column: AnyColumn, name: string, values: string[] | undefined) =>
    values ? inArray(column, values) : sql`${column} = ANY(${sql.placeholder(name)}::uuid[])`;

  /**
   * Completions of published lessons, counted per (course, student) over the cross product of
   * the ids given: the completions' primary key is walked once per pair, and the course's
   * published lessons are hashed once (not probed once per completion), so a page of 100
   * students who finished 500 lessons each costs tens of milliseconds, not hundreds. Without ids,
   * the query takes them as the arrays `course_ids` and `user_ids` (PostgreSQL).
   */
  const completionsQuery = (
    ids: { courseIds: string[]; userIds: string[] } | undefined,
    db: Db = database.db,
  ) =>
    db
      .select({
        courseId: completions.courseId,
        userId: completions.userId,
        completedLessons: count(),
        lastCompletedAt: max(completions.completedAt),
      })
      .from(completions)
      .where(
        and(
          among(completions.courseId, 'course_ids', ids?.courseIds),
          among(completions.userId, 'user_ids', ids?.userIds),
          inArray(
            completions.lessonId,
            db
              .select({ id: lessons.id })
              .from(lessons)
              .where(and(among(lessons.courseId, 'course_ids', ids?.courseIds), published)),
          ),
        ),
      )
      .groupBy(completions.courseId, completions.userId);

  /**
   * One student's counts (their own enrollments: GET /users/me, their pages, enrolling) are a
   * prepared statement on PostgreSQL, taking the ids as two arrays: planning the query took
   * 1.1 ms, three times what running it takes for ten enrollments. A roster's counts (many
   * students of one course) are planned for their very ids, as a generic plan would probe the
   * lessons once per completion where hashing them is right. SQLite plans in microseconds.
   */
  const preparedCompletions =
    database.dialect === 'postgresql'
      ? prepared(database, 'completions_of_pairs', (db) => completionsQuery(undefined, db))
      : undefined;

  /** A course's sections, in order. */
  const sectionsOf = (courseId: string, db: Db = database.db) =>
    db
      .select()
      .from(sections)
      .where(eq(sections.courseId, courseId))
      .orderBy(asc(sections.position));

  return {
    sectionsOf,

    /**
     * A course's lessons without their body and url, each with `userId`'s completion (null
     * without one or without a user), in section then lesson order; drafts only when asked.
     */
    outlineLessonsOf(
      courseId: string,
      options: { userId?: string; drafts: boolean },
      db: Db = database.db,
    ) {
      const completion = and(
        eq(completions.courseId, lessons.courseId),
        eq(completions.userId, options.userId ?? sql`NULL`),
        eq(completions.lessonId, lessons.id),
      );
      return db
        .select({ ...outlineColumns, completedAt: completions.completedAt })
        .from(lessons)
        .innerJoin(sections, ofCourse(courseId))
        .leftJoin(completions, completion)
        .where(and(eq(lessons.courseId, courseId), options.drafts ? undefined : published))
        .orderBy(asc(sections.position), asc(lessons.position));
    },

    async findSection(courseId: string, sectionId: string, db: Db = database.db) {
      const [row] = await db
        .select()
        .from(sections)
        .where(and(eq(sections.id, sectionId), eq(sections.courseId, courseId)));
      return row;
    },

    async findLesson(courseId: string, lessonId: string, db: Db = database.db) {
      const [row] = await db
        .select()
        .from(lessons)
        .where(and(eq(lessons.id, lessonId), eq(lessons.courseId, courseId)));
      return row;
    },

    /** How many sections and lessons the course holds, drafts included. */
    async sizeOf(tx: Db, courseId: string) {
      const count = (table: typeof sections | typeof lessons) =>
        tx
          .select({ n: sql<number>`count(*)`.mapWith(Number) })
          .from(table)
          .where(eq(table.courseId, courseId));
      const [[s], [l]] = await Promise.all([count(sections), count(lessons)]);
      return { sections: s?.n ?? 0, lessons: l?.n ?? 0 };
    },

    /** Appends a section: its position is the number of sections before it. */
    async insertSection(tx: Db, courseId: string, title: string) {
      const now = new Date();
      const [row] = await tx
        .insert(sections)
        .values({
          id: crypto.randomUUID(),
          courseId,
          title,
          position: sql`(SELECT count(*) FROM ${sections} WHERE ${sections.courseId} = ${courseId})`,
          createdAt: now,
          updatedAt: now,
        })
        .returning();
      return written(row);
    },

    async renameSection(tx: Db, sectionId: string, title: string) {
      const [row] = await tx
        .update(sections)
        .set({ title, updatedAt: new Date() })
        .where(eq(sections.id, sectionId))
        .returning();
      return written(row);
    },

    async holdsLessons(tx: Db, sectionId: string): Promise<boolean> {
      const [row] = await tx
        .select({ id: lessons.id })
        .from(lessons)
        .where(eq(lessons.sectionId, sectionId))
        .limit(1);
      return row !== undefined;
    },

    /** Deletes an empty section and closes the gap it leaves. */
    async deleteSection(tx: Db, courseId: string, sectionId: string): Promise<void> {
      await tx.delete(sections).where(eq(sections.id, sectionId));
      const rest = await sectionsOf(courseId, tx);
      await place(
        tx,
        sections,
        rest.flatMap((row, position) =>
          row.position === position ? [] : [{ id: row.id, position }],
        ),
      );
    },

    /** Appends a lesson to its section. */
    async insertLesson(tx: Db, courseId: string, sectionId: string, fields: LessonFields) {
      const now = new Date();
      const [row] = await tx
        .insert(lessons)
        .values({
          id: crypto.randomUUID(),
          courseId,
          sectionId,
          ...fields,
          position: sql`(SELECT count(*) FROM ${lessons} WHERE ${lessons.sectionId} = ${sectionId})`,
          createdAt: now,
          updatedAt: now,
        })
        .returning();
      return written(row);
    },

    async updateLesson(tx: Db, lessonId: string, fields: LessonFields) {
      const [row] = await tx
        .update(lessons)
        .set({ ...fields, updatedAt: new Date() })
        .where(eq(lessons.id, lessonId))
        .returning();
      return written(row);
    },

    /** Deletes a lesson and closes the gap in its section; its completions stay. */
    async deleteLesson(tx: Db, lesson: { id: string; sectionId: string }): Promise<void> {
      await tx.delete(lessons).where(eq(lessons.id, lesson.id));
      const rest = await tx
        .select({ id: lessons.id, position: lessons.position })
        .from(lessons)
        .where(eq(lessons.sectionId, lesson.sectionId))
        .orderBy(asc(lessons.position));
      await place(
        tx,
        lessons,
        rest.flatMap((row, position) =>
          row.position === position ? [] : [{ id: row.id, position, sectionId: lesson.sectionId }],
        ),
      );
    },

    /** Gives sections and lessons the places listed (only those that move need be). */
    async arrange(
      tx: Db,
      sectionMoves: { id: string; position: number }[],
      lessonMoves: LessonPlace[],
    ): Promise<void> {
      await place(tx, sections, sectionMoves);
      await place(tx, lessons, lessonMoves);
    },

    /** Recounts the course's published lessons and their minutes onto the course row. */
    async refreshCounters(tx: Db, courseId: string): Promise<void> {
      const ofCourse = and(eq(lessons.courseId, courseId), published);
      await tx
        .update(courses)
        .set({
          lessonCount: sql`(SELECT count(*) FROM ${lessons} WHERE ${ofCourse})`,
          totalDurationMinutes: sql`(SELECT coalesce(sum(${lessons.durationMinutes}), 0) FROM ${lessons} WHERE ${ofCourse})`,
        })
        .where(eq(courses.id, courseId));
    },

    /**
     * Records a completion once: a second call, even a concurrent one, keeps the first. `recorded`
     * tells whether this call was the first.
     */
    /** Records a completion inside `tx`, once: a second call finds the first one's time. */
    async complete(tx: Db, courseId: string, userId: string, lessonId: string) {
      const [inserted] = await tx
        .insert(completions)
        .values({ courseId, userId, lessonId, completedAt: new Date() })
        .onConflictDoNothing()
        .returning({ completedAt: completions.completedAt });
      if (inserted) return { completedAt: inserted.completedAt, recorded: true };
      const [row] = await tx
        .select({ completedAt: completions.completedAt })
        .from(completions)
        .where(
          and(
            eq(completions.courseId, courseId),
            eq(completions.userId, userId),
            eq(completions.lessonId, lessonId),
          ),
        );
      return { completedAt: written(row).completedAt, recorded: false };
    },

    async uncomplete(courseId: string, userId: string, lessonId: string): Promise<void> {
      await database.transaction(async (tx) => {
        await tx
          .delete(completions)
          .where(
            and(
              eq(completions.courseId, courseId),
              eq(completions.userId, userId),
              eq(completions.lessonId, lessonId),
            ),
          );
      });
    },

    /** The course's published lessons in outline order, each with the user's completion. */
    publishedLessonsWithCompletion(courseId: string, userId: string) {
      return database.db
        .select({ lessonId: lessons.id, completedAt: completions.completedAt })
        .from(lessons)
        .innerJoin(sections, ofCourse(courseId))
        .leftJoin(
          completions,
          and(
            eq(completions.courseId, lessons.courseId),
            eq(completions.userId, userId),
            eq(completions.lessonId, lessons.id),
          ),
        )
        .where(and(eq(lessons.courseId, courseId), published))
        .orderBy(asc(sections.position), asc(lessons.position));
    },

    completionsQuery,

    /**
     * Each student's completions of published lessons, for every (course, student) pair of a
     * page of enrollments, in one query (none for an empty page); pairs without any are absent.
     */
    async completionsOf(pairs: { courseId: string; userId: string }[], db: Db = database.db) {
      const counts = new Map<string, Omit<Completions, 'lessonCount'>>();
      if (pairs.length === 0) return counts;
      const courseIds = [...new Set(pairs.map((pair) => pair.courseId))];
      const userIds = [...new Set(pairs.map((pair) => pair.userId))];
      const rows =
        preparedCompletions && userIds.length === 1
          ? await preparedCompletions({ course_ids: courseIds, user_ids: userIds }, db)
          : await completionsQuery({ courseIds, userIds }, db);
      for (const row of rows) {
        counts.set(pairKey(row), row);
      }
      return counts;
    },
  };
}

/** The key of a (course, student) pair in `completionsOf`'s answer. */
export const pairKey = (pair: { courseId: string; userId: string }) =>
  `${pair.courseId} ${pair.userId}`;

export type ContentStore = ReturnType<typeof createContentStore>;
export type SectionRow = Awaited<ReturnType<ContentStore['sectionsOf']>>[number];
export type LessonRow = NonNullable<Awaited<ReturnType<ContentStore['findLesson']>>>;
export type OutlineLessonRow = Awaited<ReturnType<ContentStore['outlineLessonsOf']>>[number];
