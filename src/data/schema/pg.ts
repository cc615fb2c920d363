import {
  bigint,
  boolean,
  index,
  integer,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
  varchar,
} from 'drizzle-orm/pg-core';
import { sql } from 'drizzle-orm';

// The PostgreSQL shape. `sqlite.ts` mirrors it column for column (a test checks).
const time = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const users = pgTable(
  'users',
  {
    id: uuid('id').primaryKey(),
    email: text('email').notNull(),
    name: text('name').notNull(),
    bio: text('bio'),
    // A BCP 47 tag in canonical case (services/locales.ts): the language of the user's emails.
    locale: text('locale').notNull().default('en'),
    role: text('role', { enum: ['student', 'instructor', 'admin'] }).notNull(),
    status: text('status', { enum: ['active', 'suspended'] }).notNull(),
    emailVerified: boolean('email_verified').notNull(),
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

/** One login: the family every rotated refresh token and access token of it belongs to. */
export const sessions = pgTable(
  'sessions',
  {
    id: uuid('id').primaryKey(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id),
    createdAt: time('created_at').notNull(),
    expiresAt: time('expires_at').notNull(),
    revokedAt: time('revoked_at'),
  },
  (t) => [index('sessions_user_id_idx').on(t.userId)],
);

export const refreshTokens = pgTable(
  'refresh_tokens',
  {
    id: uuid('id').primaryKey(),
    sessionId: uuid('session_id')
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

/** Single-use tokens sent by email: address verification and password reset. */
export const emailTokens = pgTable(
  'email_tokens',
  {
    id: uuid('id').primaryKey(),
    userId: uuid('user_id')
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

export const courses = pgTable(
  'courses',
  {
    id: uuid('id').primaryKey(),
    title: text('title').notNull(),
    description: text('description').notNull(),
    category: text('category'),
    level: text('level', { enum: ['beginner', 'intermediate', 'advanced'] }),
    language: text('language').notNull(),
    // The primary subtag of `language`, lower case (`pt` for `pt-BR`): the `language` filter walks
    // it in listing order, so `pt` finds `pt-BR` through an index.
    primaryLanguage: text('primary_language').notNull().default('en'),
    status: text('status', { enum: ['draft', 'published', 'archived'] }).notNull(),
    capacity: integer('capacity'),
    enrolledCount: integer('enrolled_count').notNull(),
    // Its published lessons and their minutes, kept in step by every lesson write (data/content.ts)
    // so that a course answer costs no count.
    lessonCount: integer('lesson_count').notNull().default(0),
    totalDurationMinutes: integer('total_duration_minutes').notNull().default(0),
    instructorId: uuid('instructor_id')
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

export const enrollments = pgTable(
  'enrollments',
  {
    id: uuid('id').primaryKey(),
    courseId: uuid('course_id')
      .notNull()
      .references(() => courses.id),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id),
    status: text('status', { enum: ['active', 'cancelled'] }).notNull(),
    enrolledAt: time('enrolled_at').notNull(),
    cancelledAt: time('cancelled_at'),
  },
  (t) => [
    // One row per (course, user): a second enrollment reactivates it, never duplicates it.
    uniqueIndex('enrollments_course_user_key').on(t.courseId, t.userId),
    index('enrollments_course_enrolled_at_idx').on(t.courseId, t.enrolledAt, t.id),
    index('enrollments_user_enrolled_at_idx').on(t.userId, t.enrolledAt, t.id),
  ],
);

/** A course's outline: ordered sections, each holding ordered lessons (data/content.ts). */
export const sections = pgTable(
  'sections',
  {
    id: uuid('id').primaryKey(),
    courseId: uuid('course_id')
      .notNull()
      .references(() => courses.id),
    title: text('title').notNull(),
    // 0-based and contiguous within the course; the unique index backs concurrent appends.
    position: integer('position').notNull(),
    createdAt: time('created_at').notNull(),
    updatedAt: time('updated_at').notNull(),
  },
  (t) => [uniqueIndex('sections_course_position_key').on(t.courseId, t.position)],
);

export const lessons = pgTable(
  'lessons',
  {
    id: uuid('id').primaryKey(),
    courseId: uuid('course_id')
      .notNull()
      .references(() => courses.id),
    sectionId: uuid('section_id')
      .notNull()
      .references(() => sections.id),
    title: text('title').notNull(),
    summary: text('summary'),
    kind: text('kind', { enum: ['text', 'video', 'link'] }).notNull(),
    body: text('body'),
    url: text('url'),
    durationMinutes: integer('duration_minutes'),
    preview: boolean('preview').notNull(),
    status: text('status', { enum: ['draft', 'published'] }).notNull(),
    // 0-based and contiguous within the section.
    position: integer('position').notNull(),
    createdAt: time('created_at').notNull(),
    updatedAt: time('updated_at').notNull(),
  },
  (t) => [
    uniqueIndex('lessons_section_position_key').on(t.sectionId, t.position),
    index('lessons_course_id_idx').on(t.courseId, t.status),
  ],
);

/**
 * A student's completion of a lesson. No foreign key to lessons: completions outlive a deleted
 * lesson (they leave every count, which joins live published lessons).
 */
export const lessonCompletions = pgTable(
  'lesson_completions',
  {
    courseId: uuid('course_id')
      .notNull()
      .references(() => courses.id),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id),
    lessonId: uuid('lesson_id').notNull(),
    completedAt: time('completed_at').notNull(),
  },
  // A student's progress in a course, a roster page's progress: both walk this key's prefix.
  (t) => [primaryKey({ columns: [t.courseId, t.userId, t.lessonId] })],
);

/**
 * The stored answer of a create sent with an Idempotency-Key (src/http/idempotency.ts). `id` is a
 * hash of the caller, the operation and the key; `status` is null while the first request runs.
 */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    id: text('id').primaryKey(),
    requestHash: text('request_hash').notNull(),
    status: integer('status'),
    headers: text('headers'),
    body: text('body'),
    // While the first request runs: past this, a crashed instance's claim may be taken over.
    lockedUntil: time('locked_until'),
    createdAt: time('created_at').notNull(),
    expiresAt: time('expires_at').notNull(),
  },
  // Expired keys are swept by a range over this index, never by scanning the table.
  (t) => [index('idempotency_keys_expires_at_idx').on(t.expiresAt)],
);

/** Where an admin asked events to be sent (src/data/webhook-endpoints.ts). */
export const webhookEndpoints = pgTable(
  'webhook_endpoints',
  {
    id: uuid('id').primaryKey(),
    url: text('url').notNull(),
    description: text('description'),
    /** A JSON array of event types, or ["*"]. */
    events: text('events').notNull(),
    enabled: boolean('enabled').notNull(),
    /** The signing secret, encrypted at rest (src/services/secret-box.ts). */
    secret: text('secret').notNull(),
    /** The secret before the last rotation, still signing until `previousSecretExpiresAt`. */
    previousSecret: text('previous_secret'),
    previousSecretExpiresAt: time('previous_secret_expires_at'),
    createdAt: time('created_at').notNull(),
    updatedAt: time('updated_at').notNull(),
    deletedAt: time('deleted_at'),
  },
  (t) => [index('webhook_endpoints_created_at_idx').on(t.createdAt, t.id)],
);

/**
 * The transactional outbox and the delivery log in one: an event's rows (one per subscribed
 * endpoint) are written in the transaction of the change that causes it, and delivery workers
 * claim the due ones (src/data/webhook-deliveries.ts). `id` is the message's webhook-id.
 */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: uuid('id').primaryKey(),
    endpointId: uuid('endpoint_id')
      .notNull()
      .references(() => webhookEndpoints.id),
    eventType: text('event_type').notNull(),
    /** The message body as sent: `{ type, timestamp, data }`. */
    payload: text('payload').notNull(),
    status: text('status', { enum: ['pending', 'delivered', 'failed'] }).notNull(),
    attempts: integer('attempts').notNull(),
    lastAttemptAt: time('last_attempt_at'),
    lastStatusCode: integer('last_status_code'),
    nextAttemptAt: time('next_attempt_at'),
    /** Claimed by a worker until then; past it, another may take it over. */
    lockedUntil: time('locked_until'),
    createdAt: time('created_at').notNull(),
  },
  (t) => [
    index('webhook_deliveries_due_idx').on(t.status, t.nextAttemptAt),
    index('webhook_deliveries_endpoint_idx').on(t.endpointId, t.createdAt, t.id),
  ],
);

/** rate-limiter-flexible's table (created here so no instance races to create it). */
export const rateLimits = pgTable('rate_limits', {
  key: varchar('key', { length: 255 }).primaryKey(),
  points: integer('points').notNull().default(0),
  expire: bigint('expire', { mode: 'number' }),
});
