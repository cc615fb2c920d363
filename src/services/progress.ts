import type { components } from '../generated/openapi';

export type Progress = components['schemas']['Progress'];

/** What a student's progress in a course is computed from, as the data modules read it. */
export interface Completions {
  /** The course's published lessons, now. */
  lessonCount: number;
  /** How many of them the student has completed. */
  completedLessons: number;
  /** The latest of those completions, or null without any. */
  lastCompletedAt: Date | null;
}

/**
 * A student's progress: published lessons only, as they are now. It is complete, with a
 * `completedAt`, once every published lesson is (a course without any is never complete).
 */
export function toProgress({
  lessonCount,
  completedLessons,
  lastCompletedAt,
}: Completions): Progress {
  const complete = lessonCount > 0 && completedLessons >= lessonCount;
  return {
    completedLessons,
    totalLessons: lessonCount,
    percent: lessonCount === 0 ? 0 : Math.floor((completedLessons * 100) / lessonCount),
    completedAt: complete ? (lastCompletedAt?.toISOString() ?? null) : null,
  };
}
