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

/** The longest tag the contract's `Locale` and `LanguageTag` allow. */
const MAX_TAG_LENGTH = 35;

/**
 * `tag` in its canonical BCP 47 form (`PT-br` is `pt-BR`), by the runtime's own parser, or
 * undefined when it is not a well-formed tag of 2 to 35 characters.
 */
export function canonicalLocale(tag: string): string | undefined {
  let canonical: string | undefined;
  try {
    [canonical] = Intl.getCanonicalLocales(tag);
  } catch (err) {
    if (err instanceof RangeError) return undefined;
    throw err;
  }
  if (!canonical || canonical.length < 2 || canonical.length > MAX_TAG_LENGTH) return undefined;
  return canonical;
}

/**
 * A course's language in canonical form where Intl accepts it; a tag of the contract's form that
 * Intl does not (`en-12`) is kept as given, so no course create starts answering 400.
 */
export const canonicalLanguageTag = (tag: string): string => canonicalLocale(tag) ?? tag;

/**
 * The primary language subtag of a BCP 47 tag, lower case (`pt` for `pt-BR`): what
 * `courses.primary_language` holds, and what the `language` filter looks up by index.
 */
export function primaryLanguageOf(tag: string): string {
  return (canonicalLanguageTag(tag).split('-')[0] ?? tag).toLowerCase();
}
