import type { HandlerMap } from '../operations';
import { requireCaller } from '../operations';
import { nextPageHeaders } from '../pagination';

export const userHandlers = {
  getCurrentUser: async ({ services, caller }) => ({
    status: 200,
    body: await services.users.getCurrent(requireCaller(caller)),
  }),

  updateCurrentUser: async ({ body, services, caller }) => ({
    status: 200,
    body: await services.users.updateCurrent(requireCaller(caller), body),
  }),

  changePassword: async ({ body, services, caller }) => {
    await services.users.changePassword(
      requireCaller(caller),
      body.currentPassword,
      body.newPassword,
    );
    return { status: 204 };
  },

  deleteCurrentUser: async ({ services, caller }) => {
    await services.users.deleteCurrent(requireCaller(caller));
    return { status: 204 };
  },

  listUsers: async ({ query, services, req }) => {
    const page = await services.users.list(query ?? {});
    return { status: 200, body: page, headers: nextPageHeaders(req, page.nextCursor) };
  },

  getUser: async ({ path, services, caller }) => ({
    status: 200,
    body: await services.users.get(requireCaller(caller), path.userId),
  }),

  updateUser: async ({ path, body, services }) => ({
    status: 200,
    body: await services.users.update(path.userId, body),
  }),

  deleteUser: async ({ path, services }) => {
    await services.users.deleteUser(path.userId);
    return { status: 204 };
  },
} satisfies Partial<HandlerMap>;
