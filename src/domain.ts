import type { components } from './generated/openapi';

// The domain's vocabulary, below services, data modules and errors alike. The names come from the
// contract, so the two never drift apart.
type Schemas = components['schemas'];
export type Role = Schemas['Role'];
export type UserStatus = Schemas['UserStatus'];
export type CourseStatus = Schemas['CourseStatus'];
export type CourseLevel = NonNullable<Schemas['CourseLevel']>;
export type EnrollmentStatus = Schemas['EnrollmentStatus'];
export type LessonKind = Schemas['LessonKind'];
export type LessonStatus = Schemas['LessonStatus'];

/** Where a client stands against one limit: what the RateLimit-* headers say. */
export interface LimitState {
  limit: number;
  remaining: number;
  resetSeconds: number;
}

/** What a student's progress in a course is computed from (services/progress.ts). */
export interface Completions {
  /** The course's published lessons, now. */
  lessonCount: number;
  /** How many of them the student has completed. */
  completedLessons: number;
  /** The latest of those completions, or null without any. */
  lastCompletedAt: Date | null;
}

/**
 * A BCP 47 tag in its canonical form (`pt-BR` for `PT-br`), as `Intl.getCanonicalLocales` gives
 * it; a tag of the right form that Intl does not accept (`en-12`) is kept as given.
 */
export function canonicalLanguageTag(tag: string): string {
  try {
    return Intl.getCanonicalLocales(tag)[0] ?? tag;
  } catch {
    return tag;
  }
}

/**
 * The primary language subtag of a BCP 47 tag, lower case (`pt` for `pt-BR`): what
 * `courses.primary_language` holds, and what the `language` filter looks up by index.
 */
export function primaryLanguageOf(tag: string): string {
  return (canonicalLanguageTag(tag).split('-')[0] ?? tag).toLowerCase();
}
