import { etagOf } from '../../services/versions';
import { requireCaller, type HandlerMap } from '../operations';

const lessonPath = (lesson: { courseId: string; id: string }) =>
  `/api/v1/courses/${lesson.courseId}/lessons/${lesson.id}`;

export const contentHandlers = {
  getCourseOutline: async ({ path, caller, services }) => {
    const outline = await services.content.outline(caller, path.courseId);
    return { status: 200, body: outline, headers: { ETag: etagOf(outline) } };
  },

  replaceCourseOutline: async ({ path, body, headers, caller, services }) => {
    const outline = await services.content.replaceOutline(
      requireCaller(caller),
      path.courseId,
      body,
      headers['If-Match'],
    );
    return { status: 200, body: outline, headers: { ETag: etagOf(outline) } };
  },

  createSection: async ({ path, body, caller, services }) => {
    const section = await services.content.createSection(
      requireCaller(caller),
      path.courseId,
      body.title,
    );
    const location = `/api/v1/courses/${section.courseId}/sections/${section.id}`;
    return { status: 201, body: section, headers: { Location: location } };
  },

  updateSection: async ({ path, body, caller, services }) => {
    const section = await services.content.renameSection(
      requireCaller(caller),
      path.courseId,
      path.sectionId,
      body.title,
    );
    return { status: 200, body: section };
  },

  deleteSection: async ({ path, caller, services }) => {
    await services.content.deleteSection(requireCaller(caller), path.courseId, path.sectionId);
    return { status: 204 };
  },

  createLesson: async ({ path, body, caller, services }) => {
    const lesson = await services.content.createLesson(
      requireCaller(caller),
      path.courseId,
      path.sectionId,
      body,
    );
    return {
      status: 201,
      body: lesson,
      headers: { Location: lessonPath(lesson), ETag: etagOf(lesson) },
    };
  },

  getLesson: async ({ path, caller, services }) => {
    const lesson = await services.content.lesson(caller, path.courseId, path.lessonId);
    return { status: 200, body: lesson, headers: { ETag: etagOf(lesson) } };
  },

  updateLesson: async ({ path, body, headers, caller, services }) => {
    const lesson = await services.content.updateLesson(
      requireCaller(caller),
      path.courseId,
      path.lessonId,
      body,
      headers['If-Match'],
    );
    return { status: 200, body: lesson, headers: { ETag: etagOf(lesson) } };
  },

  deleteLesson: async ({ path, caller, services }) => {
    await services.content.deleteLesson(requireCaller(caller), path.courseId, path.lessonId);
    return { status: 204 };
  },

  completeLesson: async ({ path, caller, services }) => {
    const completion = await services.content.complete(
      requireCaller(caller),
      path.courseId,
      path.lessonId,
    );
    return { status: 200, body: completion };
  },

  uncompleteLesson: async ({ path, caller, services }) => {
    await services.content.uncomplete(requireCaller(caller), path.courseId, path.lessonId);
    return { status: 204 };
  },

  getCourseProgress: async ({ path, caller, services }) => {
    const progress = await services.content.progress(requireCaller(caller), path.courseId);
    return { status: 200, body: progress };
  },
} satisfies Partial<HandlerMap>;
