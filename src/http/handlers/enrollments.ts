import { nextPageHeaders } from '../pagination';
import { requireCaller, type HandlerMap } from '../operations';

export const enrollmentHandlers = {
  enrollInCourse: async ({ path, caller, services }) => {
    const { enrollment, created } = await services.enrollments.enroll(
      requireCaller(caller),
      path.courseId,
    );
    if (!created) return { status: 200, body: enrollment };
    return {
      status: 201,
      body: enrollment,
      headers: { Location: `/api/v1/courses/${path.courseId}/enroll` },
    };
  },

  unenrollFromCourse: async ({ path, caller, services }) => {
    await services.enrollments.unenroll(requireCaller(caller), path.courseId);
    return { status: 204 };
  },

  listCourseEnrollments: async ({ path, query, caller, services, req }) => {
    const page = await services.enrollments.listForCourse(
      requireCaller(caller),
      path.courseId,
      query,
    );
    return { status: 200, body: page, headers: nextPageHeaders(req, page.nextCursor) };
  },

  listMyEnrollments: async ({ query, caller, services, req }) => {
    const page = await services.enrollments.listForUser(requireCaller(caller).userId, query);
    return { status: 200, body: page, headers: nextPageHeaders(req, page.nextCursor) };
  },
} satisfies Partial<HandlerMap>;
