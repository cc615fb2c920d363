import {
  index,
  integer,
  primaryKey,
  sqliteTable,
  text,
  uniqueIndex,
} from 'drizzle-orm/sqlite-core';
import { sql } from 'drizzle-orm';

// The SQLite twin of `pg.ts`: same tables, columns and indexes; Dates stored as milliseconds.
const time = (name: string) => integer(name, { mode: 'timestamp_ms' });

export const users = sqliteTable(
  'users',
  {
    id: text('id').primaryKey(),
    email: text('email').notNull(),
    name: text('name').notNull(),
    bio: text('bio'),
    locale: text('locale').notNull().default('en'),
    role: text('role', { enum: ['student', 'instructor', 'admin'] }).notNull(),
    status: text('status', { enum: ['active', 'suspended'] }).notNull(),
    emailVerified: integer('email_verified', { mode: 'boolean' }).notNull(),
    passwordHash: text('password_hash').notNull(),
    createdAt: time('created_at').notNull(),
    updatedAt: time('updated_at').notNull(),
    deletedAt: time('deleted_at'),
  },
  (t) => [
    uniqueIndex('users_email_key').on(t.email),
    index('users_created_at_idx').on(t.createdAt, t.id),
    index('users_role_idx').on(t.role, t.createdAt, t.id),
  ],
);

export const sessions = sqliteTable(
  'sessions',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id),
    createdAt: time('created_at').notNull(),
    expiresAt: time('expires_at').notNull(),
    revokedAt: time('revoked_at'),
  },
  (t) => [index('sessions_user_id_idx').on(t.userId)],
);

export const refreshTokens = sqliteTable(
  'refresh_tokens',
  {
    id: text('id').primaryKey(),
    sessionId: text('session_id')
      .notNull()
      .references(() => sessions.id),
    tokenHash: text('token_hash').notNull(),
    createdAt: time('created_at').notNull(),
    expiresAt: time('expires_at').notNull(),
    usedAt: time('used_at'),
  },
  (t) => [
    uniqueIndex('refresh_tokens_token_hash_key').on(t.tokenHash),
    index('refresh_tokens_session_id_idx').on(t.sessionId),
  ],
);

export const emailTokens = sqliteTable(
  'email_tokens',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id),
    purpose: text('purpose', { enum: ['verify-email', 'reset-password'] }).notNull(),
    tokenHash: text('token_hash').notNull(),
    createdAt: time('created_at').notNull(),
    expiresAt: time('expires_at').notNull(),
    usedAt: time('used_at'),
  },
  (t) => [
    uniqueIndex('email_tokens_token_hash_key').on(t.tokenHash),
    index('email_tokens_user_id_idx').on(t.userId),
  ],
);

// Written as raw SQL so that both dialects accept it in a partial index's WHERE.
const live = sql`"deleted_at" IS NULL`;

export const courses = sqliteTable(
  'courses',
  {
    id: text('id').primaryKey(),
    title: text('title').notNull(),
    description: text('description').notNull(),
    category: text('category'),
    level: text('level', { enum: ['beginner', 'intermediate', 'advanced'] }),
    language: text('language').notNull(),
    primaryLanguage: text('primary_language').notNull().default('en'),
    status: text('status', { enum: ['draft', 'published', 'archived'] }).notNull(),
    capacity: integer('capacity'),
    enrolledCount: integer('enrolled_count').notNull(),
    lessonCount: integer('lesson_count').notNull().default(0),
    totalDurationMinutes: integer('total_duration_minutes').notNull().default(0),
    instructorId: text('instructor_id')
      .notNull()
      .references(() => users.id),
    createdAt: time('created_at').notNull(),
    updatedAt: time('updated_at').notNull(),
    publishedAt: time('published_at'),
    deletedAt: time('deleted_at'),
  },
  (t) => [
    // Keyset pagination: each listing order is (sort column, id) under its filters. Lists never
    // show deleted courses, so the indexes leave them out (partial), staying small.
    index('courses_status_created_at_idx').on(t.status, t.createdAt, t.id).where(live),
    index('courses_status_title_idx').on(t.status, t.title, t.id).where(live),
    index('courses_instructor_created_at_idx').on(t.instructorId, t.createdAt, t.id).where(live),
    index('courses_instructor_title_idx').on(t.instructorId, t.title, t.id).where(live),
    index('courses_category_created_at_idx')
      .on(t.status, t.category, t.createdAt, t.id)
      .where(live),
    index('courses_category_title_idx').on(t.status, t.category, t.title, t.id).where(live),
    index('courses_level_created_at_idx').on(t.status, t.level, t.createdAt, t.id).where(live),
    index('courses_level_title_idx').on(t.status, t.level, t.title, t.id).where(live),
    index('courses_language_created_at_idx')
      .on(t.status, t.primaryLanguage, t.createdAt, t.id)
      .where(live),
    index('courses_language_title_idx').on(t.status, t.primaryLanguage, t.title, t.id).where(live),
  ],
);

export const enrollments = sqliteTable(
  'enrollments',
  {
    id: text('id').primaryKey(),
    courseId: text('course_id')
      .notNull()
      .references(() => courses.id),
    userId: text('user_id')
      .notNull()
      .references(() => users.id),
    status: text('status', { enum: ['active', 'cancelled'] }).notNull(),
    enrolledAt: time('enrolled_at').notNull(),
    cancelledAt: time('cancelled_at'),
  },
  (t) => [
    uniqueIndex('enrollments_course_user_key').on(t.courseId, t.userId),
    index('enrollments_course_enrolled_at_idx').on(t.courseId, t.enrolledAt, t.id),
    index('enrollments_user_enrolled_at_idx').on(t.userId, t.enrolledAt, t.id),
  ],
);

export const sections = sqliteTable(
  'sections',
  {
    id: text('id').primaryKey(),
    courseId: text('course_id')
      .notNull()
      .references(() => courses.id),
    title: text('title').notNull(),
    position: integer('position').notNull(),
    createdAt: time('created_at').notNull(),
    updatedAt: time('updated_at').notNull(),
  },
  (t) => [uniqueIndex('sections_course_position_key').on(t.courseId, t.position)],
);

export const lessons = sqliteTable(
  'lessons',
  {
    id: text('id').primaryKey(),
    courseId: text('course_id')
      .notNull()
      .references(() => courses.id),
    sectionId: text('section_id')
      .notNull()
      .references(() => sections.id),
    title: text('title').notNull(),
    summary: text('summary'),
    kind: text('kind', { enum: ['text', 'video', 'link'] }).notNull(),
    body: text('body'),
    url: text('url'),
    durationMinutes: integer('duration_minutes'),
    preview: integer('preview', { mode: 'boolean' }).notNull(),
    status: text('status', { enum: ['draft', 'published'] }).notNull(),
    position: integer('position').notNull(),
    createdAt: time('created_at').notNull(),
    updatedAt: time('updated_at').notNull(),
  },
  (t) => [
    uniqueIndex('lessons_section_position_key').on(t.sectionId, t.position),
    index('lessons_course_id_idx').on(t.courseId, t.status),
  ],
);

export const lessonCompletions = sqliteTable(
  'lesson_completions',
  {
    courseId: text('course_id')
      .notNull()
      .references(() => courses.id),
    userId: text('user_id')
      .notNull()
      .references(() => users.id),
    lessonId: text('lesson_id').notNull(),
    completedAt: time('completed_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.courseId, t.userId, t.lessonId] })],
);

export const idempotencyKeys = sqliteTable(
  'idempotency_keys',
  {
    id: text('id').primaryKey(),
    requestHash: text('request_hash').notNull(),
    status: integer('status'),
    headers: text('headers'),
    body: text('body'),
    lockedUntil: time('locked_until'),
    createdAt: time('created_at').notNull(),
    expiresAt: time('expires_at').notNull(),
  },
  (t) => [index('idempotency_keys_expires_at_idx').on(t.expiresAt)],
);

export const webhookEndpoints = sqliteTable(
  'webhook_endpoints',
  {
    id: text('id').primaryKey(),
    url: text('url').notNull(),
    description: text('description'),
    events: text('events').notNull(),
    enabled: integer('enabled', { mode: 'boolean' }).notNull(),
    secret: text('secret').notNull(),
    previousSecret: text('previous_secret'),
    previousSecretExpiresAt: time('previous_secret_expires_at'),
    createdAt: time('created_at').notNull(),
    updatedAt: time('updated_at').notNull(),
    deletedAt: time('deleted_at'),
  },
  (t) => [index('webhook_endpoints_created_at_idx').on(t.createdAt, t.id)],
);

export const webhookDeliveries = sqliteTable(
  'webhook_deliveries',
  {
    id: text('id').primaryKey(),
    endpointId: text('endpoint_id')
      .notNull()
      .references(() => webhookEndpoints.id),
    eventType: text('event_type').notNull(),
    payload: text('payload').notNull(),
    status: text('status', { enum: ['pending', 'delivered', 'failed'] }).notNull(),
    attempts: integer('attempts').notNull(),
    lastAttemptAt: time('last_attempt_at'),
    lastStatusCode: integer('last_status_code'),
    nextAttemptAt: time('next_attempt_at'),
    lockedUntil: time('locked_until'),
    createdAt: time('created_at').notNull(),
  },
  (t) => [
    index('webhook_deliveries_due_idx').on(t.status, t.nextAttemptAt),
    index('webhook_deliveries_endpoint_idx').on(t.endpointId, t.createdAt, t.id),
  ],
);

export const rateLimits = sqliteTable('rate_limits', {
  key: text('key').primaryKey(),
  points: integer('points').notNull().default(0),
  expire: integer('expire'),
});
