-- PostgreSQL only: `q` (title contains, any case) is lower(title) LIKE '%...%', which no btree
-- can serve; a trigram GIN index on the same expression can. pg_trgm is a trusted extension.
CREATE EXTENSION IF NOT EXISTS pg_trgm;--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "courses_title_trgm_idx" ON "courses" USING gin (lower("title") gin_trgm_ops) WHERE "deleted_at" IS NULL;
