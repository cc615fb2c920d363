import type { Database, Db } from '../data/database';
import type { WebhookDeliveryStore } from '../data/webhook-deliveries';
import type { components } from '../generated/openapi';

type Schemas = components['schemas'];

export type WebhookEventType = Schemas['WebhookEventType'];

/** Each event type's `data`, as the document's messages (`WebhookMessage`) describe it. */
interface EventData {
  'user.registered': Schemas['User'];
  'course.created': Schemas['Course'];
  'course.updated': Schemas['Course'];
  'course.published': Schemas['Course'];
  'course.archived': Schemas['Course'];
  'course.deleted': Schemas['CourseDeletedData'];
  'enrollment.created': Schemas['Enrollment'];
  'enrollment.cancelled': Schemas['Enrollment'];
  'lesson.completed': Schemas['LessonCompletedData'];
  'course.completed': Schemas['CourseCompletedData'];
}

/** Every event type of the document with its data: a type added there does not compile here. */
export type WebhookEvents = { [T in WebhookEventType]: EventData[T] };

/** Which endpoints want an event: enabled, live, and subscribed to its type or to "*". */
export interface Subscriptions {
  subscribedTo(tx: Db, eventType: WebhookEventType): Promise<readonly { id: string }[]>;
}

export interface OutboxDeps {
  database: Database;
  subscriptions: Subscriptions;
  deliveries: WebhookDeliveryStore;
  /** Called once a transaction that wrote messages has committed: the local worker's nudge. */
  committed?: () => void;
}

/**
 * The transactional outbox's one entry point. `emit` writes the event's message for every
 * subscribed endpoint inside the caller's transaction, so a change that rolls back sends nothing
 * and a committed one is never lost; delivery happens later, in a worker (webhook-worker.ts),
 * never in the request.
 */
export function createOutbox(deps: OutboxDeps) {
  const { database, subscriptions, deliveries } = deps;
  return {
    async emit<T extends WebhookEventType>(tx: Db, type: T, data: WebhookEvents[T]): Promise<void> {
      const endpoints = await subscriptions.subscribedTo(tx, type);
      if (endpoints.length === 0) return;
      const at = new Date();
      await deliveries.insert(tx, {
        eventType: type,
        payload: JSON.stringify({ type, timestamp: at.toISOString(), data }),
        endpointIds: endpoints.map((endpoint) => endpoint.id),
        at,
      });
      const { committed } = deps;
      if (committed) database.afterCommit(tx, committed);
    },
  };
}

export type Outbox = ReturnType<typeof createOutbox>;
