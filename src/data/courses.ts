import {
  and,
  asc,
  desc,
  eq,
  getTableColumns,
  isNull,
  or,
  sql,
  type Placeholder,
  type SQL,
} from 'drizzle-orm';
import { primaryLanguageOf, type CourseLevel, type CourseStatus } from '../domain';
import { prepared, type Database, type Db, type Preparable } from './database';
import { afterPosition } from './keyset';
import {
  containsIgnoringCase,
  searchPage,
  searchValues,
  SEARCH_WINDOW,
  titleFragments,
} from './search';

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
  /**
   * Only courses in this language, a BCP 47 tag (canonical, see `canonicalLanguageTag`), matched
   * as a prefix (RFC 4647 basic filtering): `pt` finds `pt` and `pt-BR`; `pt-BR` finds `pt-BR`
   * and `pt-BR-...`.
   */
  language?: string;
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

/**
 * The courses table, each row with its instructor's name from `users`. Not the only module that
 * touches it: data/enrollments.ts joins courses, and locks them and frees their seats when a
 * user's enrollments are cancelled (and scripts/seed.ts fills it in bulk).
 */
export function createCourseStore(
  database: Database,
  options: {
    /** Rows a title search looks at, at most, for one page (src/data/search.ts). */
    searchWindow?: number;
  } = {},
) {
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

  /**
   * The values of the `language` filter's placeholders: the primary subtag, the tag in lower case
   * and the LIKE pattern of its extensions (`pt-br-%`, with `%`, `_` and `\` taken literally).
   */
  const languageValues = (tag: string) => {
    const language = tag.toLowerCase();
    const escaped = language.replace(/[\\%_]/g, (c) => `\\${c}`);
    return { primary_language: primaryLanguageOf(tag), language, language_prefix: `${escaped}-%` };
  };

  /**
   * The `language` filter: the tag's primary subtag on `primary_language`, which the listing
   * indexes file after status (courses_language_created_at_idx, courses_language_title_idx), and,
   * for a tag with more subtags, that tag itself or that tag followed by more subtags, in any case.
   * `value` binds each value or names its placeholder.
   */
  const languageFilter = (
    tag: string,
    value: (name: string, given: string) => SQL | Placeholder,
  ) => {
    const primary = eq(courses.primaryLanguage, value('primary_language', primaryLanguageOf(tag)));
    if (!tag.includes('-')) return primary;
    const { language, language_prefix: prefix } = languageValues(tag);
    return and(
      primary,
      or(
        sql`lower(${courses.language}) = ${value('language', language)}`,
        sql`lower(${courses.language}) LIKE ${value('language_prefix', prefix)} ESCAPE '\\'`,
      ),
    );
  };

  /**
   * A listing's filters (a page's or a search's), besides liveness, status, the term and the
   * keyset, on `courses`: their values bound, or as the placeholders of `listingValuesOf`.
   */
  const listingFilters = (query: CourseListQuery, bind: boolean) => {
    const value = (name: string, given: string) => (bind ? sql`${given}` : sql.placeholder(name));
    return [
      query.ownerId ? eq(courses.instructorId, value('owner_id', query.ownerId)) : undefined,
      query.instructorId
        ? eq(courses.instructorId, value('instructor_id', query.instructorId))
        : undefined,
      query.category ? eq(courses.category, value('category', query.category)) : undefined,
      query.level ? eq(courses.level, value('level', query.level)) : undefined,
      query.language ? languageFilter(query.language, value) : undefined,
    ].filter((condition): condition is SQL => condition !== undefined);
  };

  /**
   * Whether a title search goes through `searchPage`, which bounds its cost whatever the term:
   * always on PostgreSQL; on SQLite (local and small) only for the terms that PostgreSQL cannot
   * look up by word either, so that their pages end at the same rows on both databases.
   */
  const bounded = (query: CourseListQuery): query is CourseListQuery & { q: string } =>
    !!query.q &&
    (database.dialect === 'postgresql' || titleFragments(query.q, database.dialect).length === 0);

  /** The fragments a search looks up by word: on PostgreSQL, which files titles by word. */
  const fragmentsOf = (q: string) =>
    database.dialect === 'postgresql' ? titleFragments(q, database.dialect) : [];

  /** The values of a listing's placeholders, a page's or a search's (see `listingFilters`). */
  const listingValuesOf = (query: CourseListQuery): Record<string, unknown> => ({
    status: query.status,
    limit: query.limit,
    after_value: query.after?.value,
    after_id: query.after?.id,
    owner_id: query.ownerId,
    instructor_id: query.instructorId,
    category: query.category,
    level: query.level,
    ...(query.language ? languageValues(query.language) : {}),
  });

  /** The values of a search's placeholders (see `searchPage`). */
  const searchValuesOf = (query: CourseListQuery & { q: string }): Record<string, unknown> => ({
    ...searchValues(query.q, database.dialect, fragmentsOf(query.q)),
    ...listingValuesOf(query),
  });

  /**
   * The name a listing's prepared statement goes by: one per shape of query (the sort, the
   * filters given, whether there is a cursor, and what `detail` adds), kept whole by PostgreSQL
   * (63 bytes at most).
   */
  const shapeName = (kind: string, query: CourseListQuery, ...detail: (string | number)[]) =>
    [
      kind,
      { '-createdAt': 'dc', createdAt: 'c', title: 't', '-title': 'dt' }[query.sort],
      ['ownerId', 'instructorId', 'category', 'level']
        .map((filter) => (query[filter as keyof CourseListQuery] ? filter[0] : '-'))
        .join('') +
        // The language filter: a primary subtag only, or a longer tag (one condition more).
        (query.language ? (query.language.includes('-') ? 'L' : 'p') : '-'),
      ...detail,
      query.after ? 'after' : 'first',
    ].join('_');

  /**
   * Prepared statements by name (`shapeName`): on PostgreSQL each is planned once per connection,
   * not per request, and no request pays for drizzle building its query.
   */
  const statements = new Map<string, (values: Record<string, unknown>) => Promise<unknown>>();
  function runPrepared<R>(
    name: string,
    build: (db: Db) => Preparable<R>,
    values: Record<string, unknown>,
  ): Promise<R> {
    let statement = statements.get(name);
    if (!statement) statements.set(name, (statement = prepared(database, name, build)));
    return statement(values) as Promise<R>;
  }

  /**
   * A page of a title search: its matches, then maybe the row where it stopped (`boundary` 1).
   * With `values` they are bound in the query (for EXPLAIN); without, it takes placeholders.
   */
  function searchQuery(
    query: CourseListQuery & { q: string },
    values?: Record<string, unknown>,
    db: Db = database.db,
  ) {
    const { column, descending } = orders[query.sort];
    const page = searchPage({
      dialect: database.dialect,
      byWord: database.dialect === 'postgresql',
      fragments: fragmentsOf(query.q).length,
      filters: listingFilters(query, values !== undefined),
      order: { column, descending },
      id: courses.id,
      after: query.after !== undefined,
      window: options.searchWindow ?? SEARCH_WINDOW,
      values,
    });
    const direction = descending ? desc : asc;
    return db
      .select({ ...columns, boundary: sql<number>`"page"."boundary"` })
      .from(sql`(${page}) AS "page"`)
      .innerJoin(courses, eq(courses.id, sql`"page"."id"`))
      .innerJoin(users, eq(users.id, courses.instructorId))
      .orderBy(sql`"page"."boundary"`, direction(sql`"page"."key"`), direction(sql`"page"."id"`));
  }

  function runSearch(query: CourseListQuery & { q: string }) {
    const name = shapeName(
      'course_search',
      query,
      fragmentsOf(query.q).length,
      options.searchWindow ?? SEARCH_WINDOW,
    );
    return runPrepared(name, (db) => searchQuery(query, undefined, db), searchValuesOf(query));
  }

  /**
   * A page of a listing without a title search, its values bound (`bind`, for EXPLAIN and for
   * SQLite's `contains` search) or as the placeholders of `listingValuesOf`.
   */
  function pageQuery(query: CourseListQuery, bind: boolean, db: Db = database.db) {
    const { column, descending } = orders[query.sort];
    const value = <T>(name: string, given: T) => (bind ? given : sql.placeholder(name));
    const conditions: (SQL | undefined)[] = [
      isNull(courses.deletedAt),
      eq(courses.status, value('status', query.status)),
      ...listingFilters(query, bind),
      query.q ? containsIgnoringCase(courses.title, query.q, database.dialect) : undefined,
    ];
    if (query.after) {
      const after = bind
        ? query.after
        : { value: sql.placeholder('after_value'), id: sql.placeholder('after_id') };
      conditions.push(afterPosition(column, courses.id, after, descending));
    }
    const direction = descending ? desc : asc;
    return selectCourses(db)
      .where(and(...conditions))
      .orderBy(direction(column), direction(courses.id))
      .limit(value('limit', query.limit));
  }

  /** The page query itself, unexecuted, so that scripts/explain.ts can show its plan. */
  const listQuery = (query: CourseListQuery) =>
    bounded(query) ? searchQuery(query, searchValuesOf(query)) : pageQuery(query, true);

  /**
   * A page of courses, `query.limit` at most. A title search may stop before it has a whole page
   * (see `searchPage`): then `resumeAfter` is the last course it looked at, the position the next
   * page starts after, and the page may hold fewer courses than asked, even none.
   */
  async function list(
    query: CourseListQuery,
  ): Promise<CourseRecord[] & { resumeAfter?: CourseRecord }> {
    if (query.q && !bounded(query)) return pageQuery(query, true).execute();
    if (!bounded(query)) {
      const name = shapeName('course_page', query);
      return runPrepared(name, (db) => pageQuery(query, false, db), listingValuesOf(query));
    }
    const rows = await runSearch(query);
    const page: CourseRecord[] = [];
    let resumeAfter: CourseRecord | undefined;
    for (const { boundary, ...row } of rows) {
      if (boundary === 0) page.push(row);
      else resumeAfter = row;
    }
    return Object.assign(page, { resumeAfter });
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

    /** A new course, inside the caller's transaction. */
    async insert(tx: Db, course: NewCourse) {
      const id = crypto.randomUUID();
      const now = new Date();
      await tx.insert(courses).values({
        id,
        ...course,
        primaryLanguage: primaryLanguageOf(course.language),
        enrolledCount: 0,
        createdAt: now,
        updatedAt: now,
        publishedAt: course.status === 'published' ? now : null,
      });
      return written(await find(id, tx));
    },

    async update(tx: Db, id: string, changes: CourseChanges): Promise<void> {
      await tx
        .update(courses)
        .set({
          ...changes,
          primaryLanguage: primaryLanguageOf(changes.language),
          updatedAt: new Date(),
        })
        .where(eq(courses.id, id));
    },

    /** Whether this call deleted the course (false: it was already gone). */
    async softDelete(tx: Db, id: string): Promise<boolean> {
      const now = new Date();
      const rows = await tx
        .update(courses)
        .set({ deletedAt: now, updatedAt: now })
        .where(and(eq(courses.id, id), isNull(courses.deletedAt)))
        .returning({ id: courses.id });
      return rows.length > 0;
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

    list,
  };
}

export type CourseStore = ReturnType<typeof createCourseStore>;
