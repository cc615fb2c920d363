ALTER TABLE `courses` ADD `primary_language` text DEFAULT 'en' NOT NULL;--> statement-breakpoint
UPDATE `courses` SET `primary_language` = lower(CASE WHEN instr(`language`, '-') > 0 THEN substr(`language`, 1, instr(`language`, '-') - 1) ELSE `language` END);--> statement-breakpoint
CREATE INDEX `courses_language_created_at_idx` ON `courses` (`status`,`primary_language`,`created_at`,`id`) WHERE "deleted_at" IS NULL;--> statement-breakpoint
CREATE INDEX `courses_language_title_idx` ON `courses` (`status`,`primary_language`,`title`,`id`) WHERE "deleted_at" IS NULL;--> statement-breakpoint
ALTER TABLE `users` ADD `locale` text DEFAULT 'en' NOT NULL;