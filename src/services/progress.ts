import type { Completions } from '../domain';
import type { components } from '../generated/openapi';

export type Progress = components['schemas']['Progress'];

export type { Completions };

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

/** Progress in a course of `lessonCount` published lessons, from a student's counted completions. */
export function toProgressIn(
  lessonCount: number,
  completed: Omit<Completions, 'lessonCount'> | undefined,
): Progress {
  return toProgress({
    lessonCount,
    completedLessons: completed?.completedLessons ?? 0,
    lastCompletedAt: completed?.lastCompletedAt ?? null,
  });
}
