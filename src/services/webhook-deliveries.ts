import type { DeliveryRow, WebhookDeliveryStore } from '../data/webhook-deliveries';
import { problems } from '../errors';
import type { components } from '../generated/openapi';
import { listingScope, type CursorCodec } from './cursor';
import { fetchPage, type Page, type PageRequest } from './paging';

type WebhookDelivery = components['schemas']['WebhookDelivery'];
type WebhookEventType = components['schemas']['WebhookEventType'];

export function toWebhookDelivery(row: DeliveryRow): WebhookDelivery {
  return {
    id: row.id,
    eventType: row.eventType as WebhookEventType,
    status: row.status,
    attempts: row.attempts,
    lastAttemptAt: row.lastAttemptAt?.toISOString() ?? null,
    lastStatusCode: row.lastStatusCode,
    nextAttemptAt: row.status === 'pending' ? (row.nextAttemptAt?.toISOString() ?? null) : null,
    createdAt: row.createdAt.toISOString(),
  };
}

export interface WebhookDeliveryDeps {
  cursors: CursorCodec;
  deliveries: WebhookDeliveryStore;
  /** Whether the endpoint exists and is not deleted. */
  endpointExists(endpointId: string): Promise<boolean>;
  /** Wakes the local worker: a redelivery is due at once. */
  nudge(): void;
}

const endpointNotFound = () => problems.notFound('No such webhook endpoint.');

/** An endpoint's delivery log, and redelivery: what admins see of the outbox. */
export function createWebhookDeliveryService(deps: WebhookDeliveryDeps) {
  const { cursors, deliveries } = deps;
  return {
    /** One page of the endpoint's deliveries, newest first: (createdAt, id) is its keyset. */
    async list(endpointId: string, request: PageRequest): Promise<Page<WebhookDelivery>> {
      if (!(await deps.endpointExists(endpointId))) throw endpointNotFound();
      const page = await fetchPage(cursors, {
        scope: listingScope('webhook-deliveries', { endpointId }),
        request,
        kinds: ['number', 'string'] as const,
        fetch: (after, limit) =>
          deliveries.listForEndpoint(endpointId, {
            limit,
            after: after && { createdAt: new Date(after[0]), id: after[1] },
          }),
        keyOf: (row) => [row.createdAt.getTime(), row.id],
      });
      return { items: page.items.map(toWebhookDelivery), nextCursor: page.nextCursor };
    },

    /** Queues the same message again, due now. */
    async redeliver(endpointId: string, deliveryId: string): Promise<WebhookDelivery> {
      if (!(await deps.endpointExists(endpointId))) throw endpointNotFound();
      const row = await deliveries.redeliver(endpointId, deliveryId);
      if (!row) throw problems.notFound('No such delivery for this webhook endpoint.');
      deps.nudge();
      return toWebhookDelivery(row);
    },
  };
}

export type WebhookDeliveryService = ReturnType<typeof createWebhookDeliveryService>;
