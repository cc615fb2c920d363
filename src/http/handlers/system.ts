import { openapiDocument } from '../../contract';
import type { HandlerMap } from '../operations';

export const systemHandlers = {
  getLiveness: async () => ({ status: 200, body: { status: 'ok' } }),

  getReadiness: async ({ services }) => {
    await services.health.checkReadiness();
    return { status: 200, body: { status: 'ok', checks: { database: 'ok' } } };
  },

  getOpenApiDocument: async () => ({
    status: 200,
    body: openapiDocument as unknown as Record<string, unknown>,
  }),
} satisfies Partial<HandlerMap>;
