import { nextPageHeaders } from '../pagination';
import type { HandlerMap } from '../operations';

// Every /api/v1/webhooks answer is sent with Cache-Control: no-store (src/http/app.ts): the
// answers of createWebhookEndpoint and rotateWebhookSecret carry a signing secret.
export const webhookHandlers = {
  listWebhookEndpoints: async ({ query, services, req }) => {
    const page = await services.webhooks.list(query);
    return { status: 200, body: page, headers: nextPageHeaders(req, page.nextCursor) };
  },

  createWebhookEndpoint: async ({ body, services }) => {
    const endpoint = await services.webhooks.create(body);
    return {
      status: 201,
      body: endpoint,
      headers: { Location: `/api/v1/webhooks/${endpoint.id}` },
    };
  },

  getWebhookEndpoint: async ({ path, services }) => ({
    status: 200,
    body: await services.webhooks.get(path.webhookId),
  }),

  updateWebhookEndpoint: async ({ path, body, services }) => ({
    status: 200,
    body: await services.webhooks.update(path.webhookId, body),
  }),

  deleteWebhookEndpoint: async ({ path, services }) => {
    await services.webhooks.remove(path.webhookId);
    return { status: 204 };
  },

  rotateWebhookSecret: async ({ path, services }) => ({
    status: 200,
    body: await services.webhooks.rotateSecret(path.webhookId),
  }),
} satisfies Partial<HandlerMap>;
