import { and, desc, eq, isNull, sql } from 'drizzle-orm';
import { written } from './courses';
import { prepared, type Database, type Db } from './database';
import { afterPosition } from './keyset';

/**
 * Seals signing secrets before they are stored and opens them for signing
 * (services/secret-box.ts makes one); the table never holds a secret in the clear.
 */
export interface SecretSealer {
  seal(plain: string): string;
  open(sealed: string): string;
}

/** A live endpoint as the API shows it: never its secrets. */
export interface WebhookEndpointRecord {
  id: string;
  url: string;
  description: string | null;
  /** Event types, or `["*"]`. */
  events: string[];
  enabled: boolean;
  /** Until when the secret before the last rotation still signs; null without one. */
  previousSecretExpiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewWebhookEndpoint {
  url: string;
  description: string | null;
  events: string[];
}

export type WebhookEndpointChanges = Partial<NewWebhookEndpoint & { enabled: boolean }>;

export interface WebhookEndpointListQuery {
  /** The keyset position of the last row of the previous page (newest first). */
  after?: { createdAt: Date; id: string };
  limit: number;
}

/**
 * The webhook_endpoints table: the only code that writes it (data/webhook-deliveries.ts reads
 * an endpoint's URL and state when it claims deliveries). Secrets go in sealed and come out only
 * through `signingSecretsOf`, for the delivery worker.
 */
export function createWebhookEndpointStore(database: Database, box: SecretSealer) {
  const { webhookEndpoints: endpoints } = database.t;
  const columns = {
    id: endpoints.id,
    url: endpoints.url,
    description: endpoints.description,
    events: endpoints.events,
    enabled: endpoints.enabled,
    previousSecretExpiresAt: endpoints.previousSecretExpiresAt,
    createdAt: endpoints.createdAt,
    updatedAt: endpoints.updatedAt,
  };
  type Row = { events: string } & Omit<WebhookEndpointRecord, 'events'>;
  const toRecord = ({ events, ...row }: Row): WebhookEndpointRecord => ({
    ...row,
    events: JSON.parse(events) as string[],
  });
  const live = (id: string) => and(eq(endpoints.id, id), isNull(endpoints.deletedAt));

  async function find(id: string, db: Db = database.db) {
    const [row] = await db.select(columns).from(endpoints).where(live(id)).limit(1);
    return row && toRecord(row);
  }

  // Every event of every write asks this, inside the write's transaction: one prepared query.
  const enabledEndpoints = prepared(database, 'webhook_endpoints_enabled', (db) =>
    db
      .select({ id: endpoints.id, events: endpoints.events })
      .from(endpoints)
      .where(and(eq(endpoints.enabled, true), isNull(endpoints.deletedAt))),
  );

  return {
    find,

    async list(query: WebhookEndpointListQuery): Promise<WebhookEndpointRecord[]> {
      const conditions = [isNull(endpoints.deletedAt)];
      if (query.after) {
        const { createdAt, id } = query.after;
        conditions.push(
          afterPosition(endpoints.createdAt, endpoints.id, { value: createdAt, id }, true),
        );
      }
      const rows = await database.db
        .select(columns)
        .from(endpoints)
        .where(and(...conditions))
        .orderBy(desc(endpoints.createdAt), desc(endpoints.id))
        .limit(query.limit);
      return rows.map(toRecord);
    },

    /** Stores a new, enabled endpoint with `secret` sealed. */
    async insert(endpoint: NewWebhookEndpoint, secret: string): Promise<WebhookEndpointRecord> {
      const id = crypto.randomUUID();
      const now = new Date();
      return database.transaction(async (tx) => {
        await tx.insert(endpoints).values({
          id,
          url: endpoint.url,
          description: endpoint.description,
          events: JSON.stringify(endpoint.events),
          enabled: true,
          secret: box.seal(secret),
          previousSecret: null,
          previousSecretExpiresAt: null,
          createdAt: now,
          updatedAt: now,
        });
        return written(await find(id, tx));
      });
    },

    /** The endpoint after the changes; undefined when it is not live. */
    async update(
      id: string,
      changes: WebhookEndpointChanges,
    ): Promise<WebhookEndpointRecord | undefined> {
      const { events, ...rest } = changes;
      return database.transaction(async (tx) => {
        await tx
          .update(endpoints)
          .set({
            ...rest,
            ...(events === undefined ? {} : { events: JSON.stringify(events) }),
            updatedAt: new Date(),
          })
          .where(live(id));
        return find(id, tx);
      });
    },

    /** Whether a live endpoint was deleted. */
    async softDelete(id: string): Promise<boolean> {
      const now = new Date();
      return database.transaction(async (tx) => {
        if (!(await find(id, tx))) return false;
        await tx.update(endpoints).set({ deletedAt: now, updatedAt: now }).where(live(id));
        return true;
      });
    },

    /**
     * Makes `secret` the signing secret; the one it replaces keeps signing until `overlapEnds`.
     * One statement, so two rotations racing cannot lose a secret between them: each keeps the
     * secret the other wrote. Undefined when the endpoint is not live.
     */
    async rotate(
      id: string,
      secret: string,
      overlapEnds: Date,
    ): Promise<WebhookEndpointRecord | undefined> {
      return database.transaction(async (tx) => {
        await tx
          .update(endpoints)
          .set({
            previousSecret: sql`${endpoints.secret}`,
            previousSecretExpiresAt: overlapEnds,
            secret: box.seal(secret),
            updatedAt: new Date(),
          })
          .where(live(id));
        return find(id, tx);
      });
    },

    /**
     * The live, enabled endpoints subscribed to `eventType` (or to "*"), read inside `tx`, the
     * transaction of the change that causes the event (services/outbox.ts).
     */
    async subscribedTo(tx: Db, eventType: string): Promise<readonly { id: string }[]> {
      const rows = await enabledEndpoints({}, tx);
      return rows
        .filter((row) => {
          const events = JSON.parse(row.events) as string[];
          return events.includes('*') || events.includes(eventType);
        })
        .map((row) => ({ id: row.id }));
    },

    /**
     * The secrets that sign a message to the endpoint at `now`, opened: the current one, then,
     * during the 24 hours after a rotation, the previous one. Undefined when the endpoint is
     * deleted or unknown. Throws when a secret cannot be opened (the key changed: see
     * services/secret-box.ts).
     */
    async signingSecretsOf(endpointId: string, now: Date): Promise<string[] | undefined> {
      const [row] = await database.db
        .select({
          secret: endpoints.secret,
          previousSecret: endpoints.previousSecret,
          previousSecretExpiresAt: endpoints.previousSecretExpiresAt,
        })
        .from(endpoints)
        .where(live(endpointId))
        .limit(1);
      if (!row) return undefined;
      const secrets = [box.open(row.secret)];
      const { previousSecret, previousSecretExpiresAt } = row;
      if (previousSecret !== null && previousSecretExpiresAt && previousSecretExpiresAt > now) {
        secrets.push(box.open(previousSecret));
      }
      return secrets;
    },
  };
}

export type WebhookEndpointStore = ReturnType<typeof createWebhookEndpointStore>;
