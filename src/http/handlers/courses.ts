import type { Request } from 'express';
import type { Course } from '../../services/courses';
import { nextPageHeaders } from '../pagination';
import { requireCaller, type HandlerMap } from '../operations';

/**
 * The ETag Express would send for this course as a JSON body (`app.set('etag', 'strong')`), so
 * `If-Match` compares against exactly what GET handed out.
 */
function etagOf(req: Request, course: Course): string {
  const etag = req.app.get('etag fn') as (body: string, encoding: string) => string;
  return etag(JSON.stringify(course), 'utf8');
}

const locationOf = (course: Course) => `/api/v1/courses/${course.id}`;

export const courseHandlers = {
  listCourses: async ({ query, caller, services, req }) => {
    const page = await services.courses.list(caller, query);
    return { status: 200, body: page, headers: nextPageHeaders(req, page.nextCursor) };
  },

  createCourse: async ({ body, caller, services, req }) => {
    const course = await services.courses.create(requireCaller(caller), body);
    return {
      status: 201,
      body: course,
      headers: { Location: locationOf(course), ETag: etagOf(req, course) },
    };
  },

  // Express adds the ETag and answers If-None-Match with a 304 on its own.
  getCourse: async ({ path, caller, services }) => ({
    status: 200,
    body: await services.courses.get(caller, path.courseId),
  }),

  updateCourse: async ({ path, body, headers, caller, services, req }) => {
    const ifMatch = headers['If-Match'];
    const precondition =
      ifMatch === undefined ? undefined : { ifMatch, etagOf: (c: Course) => etagOf(req, c) };
    const course = await services.courses.update(
      requireCaller(caller),
      path.courseId,
      body,
      precondition,
    );
    return { status: 200, body: course, headers: { ETag: etagOf(req, course) } };
  },

  deleteCourse: async ({ path, caller, services }) => {
    await services.courses.remove(requireCaller(caller), path.courseId);
    return { status: 204 };
  },
} satisfies Partial<HandlerMap>;
