import type { Course } from '../../services/courses';
import { etagOf } from '../../services/versions';
import { nextPageHeaders } from '../pagination';
import { requireCaller, type HandlerMap } from '../operations';

const locationOf = (course: Course) => `/api/v1/courses/${course.id}`;

export const courseHandlers = {
  listCourses: async ({ query, caller, services, req }) => {
    const page = await services.courses.list(caller, query);
    return { status: 200, body: page, headers: nextPageHeaders(req, page.nextCursor) };
  },

  createCourse: async ({ body, caller, services }) => {
    const course = await services.courses.create(requireCaller(caller), body);
    return {
      status: 201,
      body: course,
      headers: { Location: locationOf(course), ETag: etagOf(course) },
    };
  },

  // Set here, so Express does not hash the body for one; it answers If-None-Match with a 304.
  getCourse: async ({ path, caller, services }) => {
    const course = await services.courses.get(caller, path.courseId);
    return { status: 200, body: course, headers: { ETag: etagOf(course) } };
  },

  updateCourse: async ({ path, body, headers, caller, services }) => {
    const course = await services.courses.update(
      requireCaller(caller),
      path.courseId,
      body,
      headers['If-Match'],
    );
    return { status: 200, body: course, headers: { ETag: etagOf(course) } };
  },

  deleteCourse: async ({ path, caller, services }) => {
    await services.courses.remove(requireCaller(caller), path.courseId);
    return { status: 204 };
  },
} satisfies Partial<HandlerMap>;
