import type { HandlerMap } from '../operations';
import { requireCaller } from '../operations';
import { limitHeaders } from '../limit-headers';
import { toUser } from '../../services/users';

export const authHandlers = {
  registerUser: async ({ body, headers, services }) => {
    const user = toUser(await services.auth.register(body, headers['Accept-Language']));
    return { status: 201, body: user, headers: { Location: `/api/v1/users/${user.id}` } };
  },

  verifyEmail: async ({ body, services }) => {
    await services.auth.verifyEmail(body.token);
    return { status: 204 };
  },

  resendVerificationEmail: async ({ body, services }) => {
    await services.auth.resendVerification(body.email);
    return { status: 202 };
  },

  loginUser: async ({ body, services, req }) => {
    const { tokens, limit } = await services.auth.login(body, req.ip ?? 'unknown');
    return { status: 200, body: tokens, headers: limitHeaders(limit) };
  },

  refreshTokens: async ({ body, services }) => ({
    status: 200,
    body: await services.auth.refresh(body.refreshToken),
  }),

  logoutUser: async ({ body, services, caller }) => {
    await services.auth.logout(requireCaller(caller), body?.refreshToken);
    return { status: 204 };
  },

  requestPasswordReset: async ({ body, services }) => {
    await services.auth.requestPasswordReset(body.email);
    return { status: 202 };
  },

  confirmPasswordReset: async ({ body, services }) => {
    await services.auth.confirmPasswordReset(body.token, body.newPassword);
    return { status: 204 };
  },
} satisfies Partial<HandlerMap>;
