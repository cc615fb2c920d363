import { toProgress } from '../../src/services/progress';
import { outlineMismatch, type CourseOutline } from '../../src/services/content';

describe('toProgress', () => {
  const at = new Date('2026-03-01T10:00:00Z');

  it('counts published lessons and rounds the percentage down', () => {
    expect(toProgress({ lessonCount: 3, completedLessons: 2, lastCompletedAt: at })).toEqual({
      completedLessons: 2,
      totalLessons: 3,
      percent: 66,
      completedAt: null,
    });
  });

  it('is complete, at the latest completion, once every published lesson is', () => {
    expect(toProgress({ lessonCount: 3, completedLessons: 3, lastCompletedAt: at })).toEqual({
      completedLessons: 3,
      totalLessons: 3,
      percent: 100,
      completedAt: at.toISOString(),
    });
  });

  it('is never complete for a course without published lessons', () => {
    expect(toProgress({ lessonCount: 0, completedLessons: 0, lastCompletedAt: null })).toEqual({
      completedLessons: 0,
      totalLessons: 0,
      percent: 0,
      completedAt: null,
    });
  });
});

describe('outlineMismatch', () => {
  const lesson = (id: string, sectionId: string, position: number) =>
    ({ id, sectionId, position }) as CourseOutline['sections'][number]['lessons'][number];
  const current = {
    courseId: 'c',
    sections: [
      { id: 's1', lessons: [lesson('l1', 's1', 0), lesson('l2', 's1', 1)] },
      { id: 's2', lessons: [lesson('l3', 's2', 0)] },
    ],
  } as CourseOutline;

  it('takes any order that names each section and lesson once, moves included', () => {
    const next = {
      sections: [
        { id: 's2', lessonIds: ['l2', 'l3'] },
        { id: 's1', lessonIds: ['l1'] },
      ],
    };
    expect(outlineMismatch(current, next)).toBeUndefined();
  });

  it.each([
    ['a section left out', [{ id: 's1', lessonIds: ['l1', 'l2', 'l3'] }], /2 sections/],
    [
      'a section twice',
      [
        { id: 's1', lessonIds: ['l1', 'l2'] },
        { id: 's1', lessonIds: ['l3'] },
      ],
      /2 sections/,
    ],
    [
      'an unknown section',
      [
        { id: 's1', lessonIds: ['l1', 'l2'] },
        { id: 'sX', lessonIds: ['l3'] },
      ],
      /2 sections/,
    ],
    [
      'a lesson left out',
      [
        { id: 's1', lessonIds: ['l1'] },
        { id: 's2', lessonIds: ['l3'] },
      ],
      /3 lessons/,
    ],
    [
      'a lesson in two sections',
      [
        { id: 's1', lessonIds: ['l1', 'l2'] },
        { id: 's2', lessonIds: ['l3', 'l2'] },
      ],
      /3 lessons/,
    ],
    [
      'an unknown lesson instead of one',
      [
        { id: 's1', lessonIds: ['l1', 'lX'] },
        { id: 's2', lessonIds: ['l3'] },
      ],
      /3 lessons/,
    ],
  ])('refuses %s', (_label, sections, message) => {
    expect(outlineMismatch(current, { sections })).toMatch(message);
  });
});
