import { HttpProblem } from '../../errors';
import type { HandlerMap, OperationId } from '../operations';
import { authHandlers } from './auth';
import { contentHandlers } from './content';
import { courseHandlers } from './courses';
import { enrollmentHandlers } from './enrollments';
import { systemHandlers } from './system';
import { userHandlers } from './users';
import { webhookDeliveryHandlers } from './webhook-deliveries';
import { webhookHandlers } from './webhooks';

/**
 * Operations in the document whose handlers have not been built yet. They answer 501 with a
 * problem body; each issue that builds one removes it from here.
 */
const NOT_IMPLEMENTED = [] as const satisfies readonly OperationId[];

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
  ...authHandlers,
  ...userHandlers,
  ...courseHandlers,
  ...contentHandlers,
  ...enrollmentHandlers,
  ...webhookHandlers,
  ...webhookDeliveryHandlers,
};
