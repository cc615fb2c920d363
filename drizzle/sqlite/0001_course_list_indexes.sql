DROP INDEX `courses_status_created_at_idx`;--> statement-breakpoint
DROP INDEX `courses_status_title_idx`;--> statement-breakpoint
DROP INDEX `courses_instructor_created_at_idx`;--> statement-breakpoint
DROP INDEX `courses_instructor_title_idx`;--> statement-breakpoint
DROP INDEX `courses_category_created_at_idx`;--> statement-breakpoint
DROP INDEX `courses_level_created_at_idx`;--> statement-breakpoint
CREATE INDEX `courses_category_title_idx` ON `courses` (`status`,`category`,`title`,`id`) WHERE "deleted_at" IS NULL;--> statement-breakpoint
CREATE INDEX `courses_level_title_idx` ON `courses` (`status`,`level`,`title`,`id`) WHERE "deleted_at" IS NULL;--> statement-breakpoint
CREATE INDEX `courses_status_created_at_idx` ON `courses` (`status`,`created_at`,`id`) WHERE "deleted_at" IS NULL;--> statement-breakpoint
CREATE INDEX `courses_status_title_idx` ON `courses` (`status`,`title`,`id`) WHERE "deleted_at" IS NULL;--> statement-breakpoint
CREATE INDEX `courses_instructor_created_at_idx` ON `courses` (`instructor_id`,`created_at`,`id`) WHERE "deleted_at" IS NULL;--> statement-breakpoint
CREATE INDEX `courses_instructor_title_idx` ON `courses` (`instructor_id`,`title`,`id`) WHERE "deleted_at" IS NULL;--> statement-breakpoint
CREATE INDEX `courses_category_created_at_idx` ON `courses` (`status`,`category`,`created_at`,`id`) WHERE "deleted_at" IS NULL;--> statement-breakpoint
CREATE INDEX `courses_level_created_at_idx` ON `courses` (`status`,`level`,`created_at`,`id`) WHERE "deleted_at" IS NULL;