import { sql, type AnyColumn, type Column, type SQL } from 'drizzle-orm';
import type { Dialect } from './database';

const asciiLower = (text: string) => text.replace(/[A-Z]/g, (c) => c.toLowerCase());

/**
 * The text as `lower(...)` folds it on each database: SQLite's lower() folds ASCII letters only,
 * so there the text is folded the same way, and an exact "École" still finds "École", though
 * "école" does not (PostgreSQL finds both).
 */
const fold = (text: string, dialect: Dialect) =>
  dialect === 'sqlite' ? asciiLower(text) : text.toLowerCase();

/** A LIKE pattern for "contains", with `%`, `_` and `\` in the text taken literally. */
const containsPattern = (folded: string) => `%${folded.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/**
 * `column` contains `text`, in any case, with `%`, `_` and `\` in the text taken literally.
 * Written as lower(...) LIKE ... ESCAPE so it means the same on PostgreSQL and SQLite (but see
 * `fold` for letters beyond ASCII).
 */
export function containsIgnoringCase(column: AnyColumn, text: string, dialect: Dialect): SQL {
  return sql`lower(${column}) LIKE ${containsPattern(fold(text, dialect))} ESCAPE '\\'`;
}

/** How many fragments of a term are considered, longest first; any one of them would do. */
const MAX_FRAGMENTS = 3;

/**
 * The runs of three or more ASCII letters and digits in the folded term, longest first. Each lies
 * inside one word of every title that contains the term, where a word is a run of ASCII letters
 * and digits of lower(title) (the filing of migration drizzle/pg/0003): a fragment's characters
 * are all such, so no word boundary can fall inside it. A term without one (1 or 2 characters,
 * punctuation, other scripts) cannot be looked up by word.
 */
export function titleFragments(text: string, dialect: Dialect): string[] {
  const runs = new Set(fold(text, dialect).match(/[a-z0-9]{3,}/g) ?? []);
  return [...runs].sort((a, b) => b.length - a.length).slice(0, MAX_FRAGMENTS);
}

/**
 * How many rows a search looks at, at most, to answer one page: what keeps a search for a term
 * that no title near the cursor holds from walking the whole table.
 */
export const SEARCH_WINDOW = 500;
/** A fragment found in more words than this is not looked up by word (the walk serves it). */
export const WORDS_PER_FRAGMENT = 16;

/** What a search query's text depends on; the values go to its placeholders (`searchValues`). */
export interface SearchShape {
  dialect: Dialect;
  /** Look the term up by word (PostgreSQL, with course_title_words) before walking. */
  byWord: boolean;
  /** How many fragments the term has (`titleFragments`); 0 walks only. */
  fragments: number;
  /** Conditions on `courses` besides status, liveness, the term and the keyset. */
  filters: SQL[];
  /** The listing order: the sort column of `courses` and the direction; ties go by id. */
  order: { column: Column; descending: boolean };
  id: Column;
  /** Whether the page starts after a keyset position (placeholders `after_value`, `after_id`). */
  after: boolean;
  /** Rows looked at, at most (tests make it small). */
  window: number;
  /** The placeholders' values, to bind them here (for EXPLAIN); else the query takes them later. */
  values?: Record<string, unknown>;
}

/**
 * The values of a search query's placeholders that come from the term: `pattern` and
 * `fragment_1`... Besides these it takes `status` and `limit` (matches to return: a page and the
 * row that shows there is more), and `after_value`, `after_id` where it has a position.
 */
export function searchValues(text: string, dialect: Dialect, fragments: string[]) {
  const values: Record<string, string> = { pattern: containsPattern(fold(text, dialect)) };
  for (const [i, fragment] of fragments.entries()) values[`fragment_${i + 1}`] = `%${fragment}%`;
  return values;
}

/**
 * The query behind a page of a title search, unexecuted, with placeholders. It returns `id`,
 * `key` (the sort value) and `boundary`: the matches of the page in order (boundary 0), and, where
 * the search had to stop before it found a whole page, the last row it looked at (boundary 1):
 * the next page continues after that row, so a page may then hold fewer matches than asked, even
 * none, while more may follow. Its cost is bounded whatever the term: the plan is chosen here, by
 * the shape of the query, not by the planner.
 *
 * Two ways to find candidates, both in the listing's order and lazy (they stop at a page):
 * - by word (PostgreSQL): the term's fragment with the fewest candidates by the statistics
 *   (fragments expand to the vocabulary's words that contain them; each word's courses come in
 *   listing order out of course_title_words), each word's courses walked from the cursor, at
 *   most a share of the window each. A one-word term finds a match in every candidate, so a page
 *   reads about `limit` index entries per word, however common or rare the term, and however its
 *   matches are spread through the order.
 * - the walk: down the listing's own index from the cursor, `window` rows at most, keeping
 *   those whose title contains the term. It serves terms with no fragment (it finds matches
 *   quickly where they are common, and stops at the window where they are not), and on
 *   PostgreSQL terms whose every fragment is in too many words; it runs only then.
 *
 * Each walk either ends (nothing more after it), fills its page, or stops at its share of the
 * window. The page is exact up to the earliest place where a walk stopped (the frontier): its
 * matches up to there, `limit` at most, and the frontier as the boundary when it holds fewer.
 *
 * On PostgreSQL the values reach the planner only as the results of one-row subqueries, so that
 * the plan does not depend on them: every execution takes the same plan, which a prepared
 * statement then plans once (a generic plan costs the same as the custom ones).
 */
export function searchPage(shape: SearchShape): SQL {
  const { dialect, order, window } = shape;
  const pg = dialect === 'postgresql';
  const given = (name: string, type: string, encoder?: Column) => {
    const value = shape.values ? shape.values[name] : sql.placeholder(name);
    const bound = encoder ? sql.param(value, encoder) : sql`${value}`;
    return pg ? sql`(SELECT ${bound}::${sql.raw(type)})` : bound;
  };
  const status = given('status', 'text');
  const limit = given('limit', 'integer');
  const pattern = given('pattern', 'text');
  const dir = sql.raw(order.descending ? 'DESC' : 'ASC');
  const back = sql.raw(order.descending ? 'ASC' : 'DESC');
  const beyond = sql.raw(order.descending ? '<' : '>');
  const key = sql.raw(order.column.name);
  const after = (table: string) =>
    shape.after
      ? sql`AND (${sql.raw(`${table}.`)}${key}, ${sql.raw(`${table}.id`)}) ${beyond} (${given(
          'after_value',
          order.column.getSQLType(),
          order.column,
        )}, ${given('after_id', shape.id.getSQLType(), shape.id)})`
      : sql``;
  const filters = shape.filters.length > 0 ? sql.join(shape.filters, sql` AND `) : undefined;
  const byWord = shape.byWord && shape.fragments > 0;

  // The walk down the listing's own index: every dialect, and the fallback of the word lookup.
  const walk = sql`SELECT '' AS word, s.key, s.id, s.hit, s.n = ${sql.raw(String(window))} AS last
    FROM (
      SELECT courses.${key} AS key, courses.id AS id,
        lower(courses.title) LIKE ${pattern} ESCAPE '\\' AS hit,
        row_number() OVER (ORDER BY courses.${key} ${dir}, courses.id ${dir}) AS n
      FROM courses
      WHERE courses.deleted_at IS NULL AND courses.status = ${status}
        ${filters ? sql`AND ${filters}` : sql``} ${after('courses')}
        ${byWord ? sql`AND NOT EXISTS (SELECT 1 FROM choice)` : sql``}
      ORDER BY courses.${key} ${dir}, courses.id ${dir}
      LIMIT ${sql.raw(String(window))}
    ) s
    WHERE s.hit OR s.n = ${sql.raw(String(window))}
    LIMIT ${limit}`;

  let candidates: SQL;
  if (!byWord) {
    candidates = sql`walked AS MATERIALIZED (SELECT * FROM (${walk}) walk)`;
  } else {
    const fragments = Array.from({ length: shape.fragments }, (_, i) =>
      given(`fragment_${i + 1}`, 'text'),
    );
    const values = sql.join(
      fragments.map((fragment, i) => sql`(${sql.raw(String(i + 1))}, ${fragment})`),
      sql`, `,
    );
    // With several fragments, one in no word at all settles it (no title holds the term);
    // otherwise the one whose words file the fewest courses is walked, by the share of the table
    // each word has in the planner's statistics (its most common values; a word not among them
    // is rarer than any that is); ties go to the longest.
    const fewest =
      shape.fragments > 1
        ? sql`cardinality(e.words) > 0, (SELECT coalesce(sum(s.freqs[array_position(s.words, w)]), 0)
              FROM unnest(e.words) AS w, (
                SELECT most_common_vals::text::text[] AS words, most_common_freqs AS freqs
                FROM pg_stats
                WHERE schemaname = current_schema() AND tablename = 'course_title_words'
                  AND attname = 'word'
              ) s),`
        : sql``;
    const filed = filters
      ? sql`AND (SELECT ${filters} FROM courses WHERE courses.id = p.id)`
      : sql``;
    candidates = sql`
      expansions AS MATERIALIZED (
        SELECT f.ord, ARRAY(SELECT v.word FROM course_title_vocabulary v
          WHERE v.word LIKE f.pattern LIMIT ${sql.raw(String(WORDS_PER_FRAGMENT + 1))}) AS words
        FROM (VALUES ${values}) AS f (ord, pattern)
      ),
      choice AS MATERIALIZED (
        SELECT e.words,
          greatest(${sql.raw(String(window))} / greatest(cardinality(e.words), 1), ${limit}) AS share
        FROM expansions e
        WHERE cardinality(e.words) <= ${sql.raw(String(WORDS_PER_FRAGMENT))}
        ORDER BY ${fewest} e.ord
        LIMIT 1
      ),
      walked AS MATERIALIZED (
        SELECT w.word, c.key, c.id, c.hit, c.last
        FROM unnest((SELECT words FROM choice)) AS w (word)
        CROSS JOIN LATERAL (
          SELECT s.key, s.id, s.hit, s.n = (SELECT share FROM choice) AS last FROM (
            SELECT p.${key} AS key, p.id,
              (lower(p.title) LIKE ${pattern} ESCAPE '\\' ${filed}) AS hit,
              row_number() OVER (ORDER BY p.${key} ${dir}, p.id ${dir}) AS n
            FROM course_title_words p
            WHERE p.word = w.word AND p.status = ${status} ${after('p')}
            ORDER BY p.${key} ${dir}, p.id ${dir}
            LIMIT (SELECT share FROM choice)
          ) s
          WHERE s.hit OR s.n = (SELECT share FROM choice)
          LIMIT ${limit}
        ) c
        UNION ALL
        SELECT * FROM (${walk}) walk
      )`;
  }

  return sql`WITH ${candidates},
    ends AS (
      SELECT x.key, x.id FROM (
        SELECT w.key, w.id, w.last,
          row_number() OVER (PARTITION BY w.word ORDER BY w.key ${back}, w.id ${back}) AS r,
          count(*) OVER (PARTITION BY w.word) AS m
        FROM walked w
      ) x
      WHERE x.r = 1 AND (x.last OR x.m = ${limit})
    ),
    frontier AS MATERIALIZED (SELECT key, id FROM ends ORDER BY key ${dir}, id ${dir} LIMIT 1),
    hits AS MATERIALIZED (
      SELECT DISTINCT w.key, w.id FROM walked w
      WHERE w.hit
        AND NOT EXISTS (SELECT 1 FROM frontier f WHERE (w.key, w.id) ${beyond} (f.key, f.id))
      ORDER BY w.key ${dir}, w.id ${dir}
      LIMIT ${limit}
    )
    SELECT h.id, h.key, 0 AS boundary FROM hits h
    UNION ALL
    SELECT f.id, f.key, 1 AS boundary FROM frontier f WHERE (SELECT count(*) FROM hits) < ${limit}`;
}
