import { randomBytes } from 'node:crypto';
import type { WebhookEndpointRecord, WebhookEndpointStore } from '../data/webhook-endpoints';
import type { components } from '../generated/openapi';
import { problems } from '../errors';
import { listingScope, type CursorCodec } from './cursor';
import { fetchPage, type Page, type PageRequest } from './paging';
import { checkTarget, type TargetOptions } from './webhook-targets';

type Schemas = components['schemas'];
export type WebhookEndpoint = Schemas['WebhookEndpoint'];
export type WebhookEndpointWithSecret = Schemas['WebhookEndpointWithSecret'];
type CreateWebhookEndpointRequest = Schemas['CreateWebhookEndpointRequest'];
type UpdateWebhookEndpointRequest = Schemas['UpdateWebhookEndpointRequest'];
type WebhookEvents = Schemas['WebhookEvents'];

/** How long the secret a rotation replaces keeps signing beside the new one. */
export const ROTATION_OVERLAP_MS = 24 * 60 * 60 * 1000;

/** A new signing secret, as the Standard Webhooks libraries take it: `whsec_` + 32 random bytes. */
export const newSigningSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

export function toWebhookEndpoint(row: WebhookEndpointRecord): WebhookEndpoint {
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    events: row.events as WebhookEvents,
    enabled: row.enabled,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

const withSecret = (row: WebhookEndpointRecord, secret: string): WebhookEndpointWithSecret => ({
  ...toWebhookEndpoint(row),
  secret,
  previousSecretExpiresAt: row.previousSecretExpiresAt?.toISOString() ?? null,
});

const endpointNotFound = () => problems.notFound('No such webhook endpoint.');

/** `*` means every type: beside named types it would say two things at once. */
function requireEventSelection(events: WebhookEvents): void {
  if (events.length > 1 && events.includes('*')) {
    throw problems.badRequest('Subscribe to "*" alone, or to event types without "*".', [
      { path: 'body.events', message: 'must be ["*"] alone or event types only' },
    ]);
  }
}

export interface WebhookDeps {
  cursors: CursorCodec;
  endpoints: WebhookEndpointStore;
  /** How endpoint URLs are checked (WEBHOOK_ALLOW_PRIVATE_TARGETS, and the resolver). */
  targets: TargetOptions;
}

/**
 * Webhook endpoints, for admins (the document lets no one else call these operations). Signing
 * secrets are made here and shown once: the store keeps them sealed.
 */
export function createWebhookService(deps: WebhookDeps) {
  const { cursors, endpoints: store, targets } = deps;

  return {
    async list(request: PageRequest): Promise<Page<WebhookEndpoint>> {
      const page = await fetchPage(cursors, {
        scope: listingScope('webhook-endpoints', {}),
        request,
        // Newest first: (createdAt in milliseconds, id).
        kinds: ['number', 'string'] as const,
        fetch: (after, limit) =>
          store.list({ limit, after: after && { createdAt: new Date(after[0]), id: after[1] } }),
        keyOf: (row) => [row.createdAt.getTime(), row.id],
      });
      return { items: page.items.map(toWebhookEndpoint), nextCursor: page.nextCursor };
    },

    async create(body: CreateWebhookEndpointRequest): Promise<WebhookEndpointWithSecret> {
      requireEventSelection(body.events);
      await checkTarget(body.url, targets);
      const secret = newSigningSecret();
      const created = await store.insert(
        { url: body.url, description: body.description ?? null, events: body.events },
        secret,
      );
      return withSecret(created, secret);
    },

    async get(id: string): Promise<WebhookEndpoint> {
      const endpoint = await store.find(id);
      if (!endpoint) throw endpointNotFound();
      return toWebhookEndpoint(endpoint);
    },

    async update(id: string, body: UpdateWebhookEndpointRequest): Promise<WebhookEndpoint> {
      if (body.events !== undefined) requireEventSelection(body.events);
      // 404 before the URL's check: an id that names nothing is not worth a DNS query.
      if (!(await store.find(id))) throw endpointNotFound();
      if (body.url !== undefined) await checkTarget(body.url, targets);
      const updated = await store.update(id, {
        url: body.url,
        description: body.description,
        events: body.events,
        enabled: body.enabled,
      });
      if (!updated) throw endpointNotFound();
      return toWebhookEndpoint(updated);
    },

    async remove(id: string): Promise<void> {
      if (!(await store.softDelete(id))) throw endpointNotFound();
    },

    async rotateSecret(id: string): Promise<WebhookEndpointWithSecret> {
      const secret = newSigningSecret();
      const rotated = await store.rotate(id, secret, new Date(Date.now() + ROTATION_OVERLAP_MS));
      if (!rotated) throw endpointNotFound();
      return withSecret(rotated, secret);
    },
  };
}

export type WebhookService = ReturnType<typeof createWebhookService>;
