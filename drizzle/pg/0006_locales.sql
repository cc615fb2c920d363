ALTER TABLE "courses" ADD COLUMN "primary_language" text DEFAULT 'en' NOT NULL;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "locale" text DEFAULT 'en' NOT NULL;--> statement-breakpoint
UPDATE "courses" SET "primary_language" = lower(split_part("language", '-', 1));--> statement-breakpoint
CREATE INDEX "courses_language_created_at_idx" ON "courses" USING btree ("status","primary_language","created_at","id") WHERE "deleted_at" IS NULL;--> statement-breakpoint
CREATE INDEX "courses_language_title_idx" ON "courses" USING btree ("status","primary_language","title","id") WHERE "deleted_at" IS NULL;