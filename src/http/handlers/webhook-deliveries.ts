import { nextPageHeaders } from '../pagination';
import type { HandlerMap } from '../operations';

export const webhookDeliveryHandlers = {
  listWebhookDeliveries: async ({ path, query, services, req }) => {
    const page = await services.webhookDeliveries.list(path.webhookId, query);
    return { status: 200, body: page, headers: nextPageHeaders(req, page.nextCursor) };
  },

  redeliverWebhook: async ({ path, services }) => {
    const delivery = await services.webhookDeliveries.redeliver(path.webhookId, path.deliveryId);
    return { status: 202, body: delivery };
  },
} satisfies Partial<HandlerMap>;
