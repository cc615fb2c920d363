import { HttpProblem } from '../../errors';
import type { HandlerMap, OperationId } from '../operations';
import { systemHandlers } from './system';

/**
 * Operations in the document whose handlers have not been built yet. They answer 501 with a
 * problem body; each issue that builds one removes it from here.
 */
const NOT_IMPLEMENTED = [
  'registerUser',
  'verifyEmail',
  'resendVerificationEmail',
  'loginUser',
  'refreshTokens',
  'logoutUser',
  'requestPasswordReset',
  'confirmPasswordReset',
  'getCurrentUser',
  'updateCurrentUser',
  'changePassword',
  'deleteCurrentUser',
  'listMyEnrollments',
  'listUsers',
  'getUser',
  'updateUser',
  'deleteUser',
  'listCourses',
  'createCourse',
  'getCourse',
  'updateCourse',
  'deleteCourse',
  'enrollInCourse',
  'unenrollFromCourse',
  'listCourseEnrollments',
] as const satisfies readonly OperationId[];

const pending = Object.fromEntries(
  NOT_IMPLEMENTED.map((id) => [
    id,
    async () => {
      throw new HttpProblem(501, 'not-implemented', `${id} is not implemented yet.`);
    },
  ]),
) as unknown as Pick<HandlerMap, (typeof NOT_IMPLEMENTED)[number]>;

/** Every operationId bound to its handler: leaving one out does not compile. */
export const handlers: HandlerMap = {
  ...pending,
  ...systemHandlers,
};
