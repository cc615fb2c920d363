-- PostgreSQL only: the title search (`q`) of listCourses, at the cost of a page whatever the term
-- and the sort (src/data/search.ts says how the query uses these).
--
-- A trigram index finds the courses whose title holds a term, but in no order: a page of a
-- frequent term sorted by title had to sort every match (thousands), and a walk down an ordered
-- index filtering titles finds nothing for a long time when the matches are bunched elsewhere in
-- that order ("Introduction to ..." sorted by title starts half-way down). So each live course is
-- also filed under each word of its title (runs of ASCII letters and digits of lower(title), 3
-- characters or more), with the keys of both listing orders: the courses holding a word come out
-- of one index already in either order, and a page reads about as many entries as it shows. The
-- vocabulary (every word ever filed, with a trigram index) turns a fragment of a term into the
-- few words that contain it ("intro" gives "introduction", "introductory").
--
-- Triggers keep both in step with `courses`, in the same transaction: a statement trigger for
-- inserts (the seed inserts thousands of rows a statement), a row trigger for the updates that
-- change what is filed (not for the seat counter), and one for deletes.
-- Filing the courses already there takes a while on a big table (about half a minute for a
-- million): more than the pool's statement timeout, which is not meant for this.
SET LOCAL statement_timeout = 0;--> statement-breakpoint
CREATE FUNCTION course_title_words_of(title text) RETURNS text[]
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$
    SELECT coalesce(array_agg(DISTINCT w ORDER BY w), '{}')
    FROM regexp_split_to_table(lower(title), '[^a-z0-9]+') AS w
    WHERE length(w) >= 3
  $$;--> statement-breakpoint
CREATE TABLE "course_title_words" (
  "word" text NOT NULL,
  "status" text NOT NULL,
  "title" text NOT NULL,
  "created_at" timestamp with time zone NOT NULL,
  "id" uuid NOT NULL
);--> statement-breakpoint
CREATE TABLE "course_title_vocabulary" (
  "word" text PRIMARY KEY
);--> statement-breakpoint
INSERT INTO "course_title_words" ("word", "status", "title", "created_at", "id")
  SELECT w, c."status", c."title", c."created_at", c."id"
  FROM "courses" c, unnest(course_title_words_of(c."title")) AS w
  WHERE c."deleted_at" IS NULL;--> statement-breakpoint
INSERT INTO "course_title_vocabulary" ("word")
  SELECT DISTINCT "word" FROM "course_title_words";--> statement-breakpoint
-- One course is filed once under a word, so this is also the table's key.
CREATE UNIQUE INDEX "course_title_words_title_idx"
  ON "course_title_words" ("word", "status", "title", "id");--> statement-breakpoint
CREATE INDEX "course_title_words_created_at_idx"
  ON "course_title_words" ("word", "status", "created_at", "id") INCLUDE ("title");--> statement-breakpoint
CREATE INDEX "course_title_vocabulary_trgm_idx"
  ON "course_title_vocabulary" USING gin ("word" gin_trgm_ops);--> statement-breakpoint
CREATE FUNCTION course_title_words_file() RETURNS trigger
  LANGUAGE plpgsql
  AS $$
  BEGIN
    INSERT INTO course_title_words (word, status, title, created_at, id)
      SELECT w, n.status, n.title, n.created_at, n.id
      FROM new_courses n, unnest(course_title_words_of(n.title)) AS w
      WHERE n.deleted_at IS NULL;
    -- In one order, so that two transactions adding the same new words cannot deadlock.
    INSERT INTO course_title_vocabulary (word)
      SELECT DISTINCT w
      FROM new_courses n, unnest(course_title_words_of(n.title)) AS w
      WHERE n.deleted_at IS NULL
        AND NOT EXISTS (SELECT 1 FROM course_title_vocabulary v WHERE v.word = w)
      ORDER BY w
      ON CONFLICT DO NOTHING;
    RETURN NULL;
  END
  $$;--> statement-breakpoint
CREATE FUNCTION course_title_words_refile() RETURNS trigger
  LANGUAGE plpgsql
  AS $$
  BEGIN
    IF OLD.deleted_at IS NULL THEN
      DELETE FROM course_title_words
      WHERE word = ANY (course_title_words_of(OLD.title))
        AND status = OLD.status AND title = OLD.title AND id = OLD.id;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.deleted_at IS NULL THEN
      INSERT INTO course_title_words (word, status, title, created_at, id)
        SELECT w, NEW.status, NEW.title, NEW.created_at, NEW.id
        FROM unnest(course_title_words_of(NEW.title)) AS w;
      INSERT INTO course_title_vocabulary (word)
        SELECT w FROM unnest(course_title_words_of(NEW.title)) AS w
        WHERE NOT EXISTS (SELECT 1 FROM course_title_vocabulary v WHERE v.word = w)
        ORDER BY w
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
  END
  $$;--> statement-breakpoint
CREATE FUNCTION course_title_words_clear() RETURNS trigger
  LANGUAGE plpgsql
  AS $$
  BEGIN
    TRUNCATE course_title_words;
    RETURN NULL;
  END
  $$;--> statement-breakpoint
CREATE TRIGGER course_title_words_insert AFTER INSERT ON "courses"
  REFERENCING NEW TABLE AS new_courses
  FOR EACH STATEMENT EXECUTE FUNCTION course_title_words_file();--> statement-breakpoint
CREATE TRIGGER course_title_words_update AFTER UPDATE ON "courses"
  FOR EACH ROW
  WHEN (OLD.title IS DISTINCT FROM NEW.title OR OLD.status IS DISTINCT FROM NEW.status
    OR OLD.created_at IS DISTINCT FROM NEW.created_at
    OR OLD.deleted_at IS DISTINCT FROM NEW.deleted_at)
  EXECUTE FUNCTION course_title_words_refile();--> statement-breakpoint
CREATE TRIGGER course_title_words_delete AFTER DELETE ON "courses"
  FOR EACH ROW EXECUTE FUNCTION course_title_words_refile();--> statement-breakpoint
CREATE TRIGGER course_title_words_truncate AFTER TRUNCATE ON "courses"
  FOR EACH STATEMENT EXECUTE FUNCTION course_title_words_clear();--> statement-breakpoint
-- The search no longer reads the trigram index on courses.title; it only cost every write.
DROP INDEX IF EXISTS "courses_title_trgm_idx";
