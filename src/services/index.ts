import { createSecretKey } from 'node:crypto';
import type { Config } from '../config';
import { createContentStore } from '../data/content';
import { createCourseStore } from '../data/courses';
import type { Database } from '../data/database';
import { createEmailTokenStore } from '../data/email-tokens';
import { createEnrollmentStore } from '../data/enrollments';
import { createIdempotencyKeyStore } from '../data/idempotency-keys';
import { createSessionEvents } from '../data/session-events';
import { createSessionStore } from '../data/sessions';
import { createUserStore } from '../data/users';
import { createWebhookDeliveryStore } from '../data/webhook-deliveries';
import { createWebhookEndpointStore } from '../data/webhook-endpoints';
import { logger } from '../logger';
import { createMetrics } from '../observability/metrics';
import { createAuthService } from './auth';
import { createContentService } from './content';
import { createCourseService } from './courses';
import { createCursorCodec } from './cursor';
import { createEnrollmentService } from './enrollments';
import { createHealthService } from './health';
import { createIdempotencyService } from './idempotency';
import { createLimits } from './limits';
import { createMailer } from './mailer';
import { createOutbox } from './outbox';
import { createPasswordHasher } from './passwords';
import { createSecretBox, secretBoxKey } from './secret-box';
import { createSessionCache } from './session-cache';
import { createUserService } from './users';
import { createWebhookDeliveryService } from './webhook-deliveries';
import { resolveTarget } from './webhook-targets';
import { createWebhookWorker, type WebhookWorkerDeps } from './webhook-worker';
import { createWebhookService } from './webhooks';

/** Builds every domain service once, over one database; the HTTP layer only calls these. */
export function createServices(config: Config, database: Database) {
  const tokens = {
    secret: createSecretKey(config.jwtSecret),
    issuer: config.jwtIssuer,
    audience: config.jwtAudience,
    accessTokenTtl: config.accessTokenTtl,
  };
  // Each store once: the services that need one share it.
  const sessionEvents = createSessionEvents(database);
  const sessions = createSessionStore(database, sessionEvents);
  const userStore = createUserStore(database, sessionEvents);
  const courseStore = createCourseStore(database);
  const enrollmentStore = createEnrollmentStore(database);
  const emailTokens = createEmailTokenStore(database);
  const contentStore = createContentStore(database);
  // Signing secrets, and the answers kept for Idempotency-Key (a webhook endpoint's secret among
  // them), are stored sealed with a key from WEBHOOK_SECRET_KEY (or JWT_SECRET).
  const box = createSecretBox(secretBoxKey(config));
  const idempotency = createIdempotencyService(createIdempotencyKeyStore(database), box);
  const webhookEndpoints = createWebhookEndpointStore(database, box);

  // One registry per instance: tests run several instances in one process.
  const metrics = createMetrics(database);
  const limits = createLimits(config, database, metrics);
  const cursors = createCursorCodec(config.jwtSecret);
  const passwords = createPasswordHasher();
  const mailer = createMailer(config, metrics);
  // Every instance delivers the outbox; a commit that wrote messages wakes this one at once.
  const webhookDeliveryStore = createWebhookDeliveryStore(database);
  const webhookWorkerDeps: WebhookWorkerDeps = {
    deliveries: webhookDeliveryStore,
    secrets: webhookEndpoints,
    metrics,
    resolveTarget: (url) => resolveTarget(url, { allowPrivate: config.webhookAllowPrivateTargets }),
    timeoutMs: config.webhookTimeoutMs,
  };
  const webhookWorker = createWebhookWorker(webhookWorkerDeps);
  const outbox = createOutbox({
    database,
    subscriptions: webhookEndpoints,
    deliveries: webhookDeliveryStore,
    committed: () => webhookWorker.nudge(),
  });
  const courses = createCourseService({ database, cursors, courses: courseStore, outbox });
  const enrollments = createEnrollmentService({
    database,
    cursors,
    courses: courseStore,
    enrollments: enrollmentStore,
    content: contentStore,
    metrics,
    outbox,
  });
  const users = createUserService({
    database,
    users: userStore,
    sessions,
    passwords,
    cursors,
    courses,
    enrollments,
    limits,
  });
  return {
    config,
    database,
    metrics,
    health: createHealthService(database),
    idempotency,
    limits,
    cursors,
    mailer,
    auth: createAuthService({
      config,
      database,
      tokens,
      sessions,
      sessionCache: createSessionCache(sessions, sessionEvents),
      users: userStore,
      emailTokens,
      passwords,
      mailer,
      limits,
      metrics,
      outbox,
    }),
    users,
    courses,
    outbox,
    webhookWorker,
    /** Another worker over the same stores, with settings of its own (tests drive these). */
    createWebhookWorker: (settings: Partial<WebhookWorkerDeps>) =>
      createWebhookWorker({ ...webhookWorkerDeps, ...settings }),
    webhookDeliveries: createWebhookDeliveryService({
      cursors,
      deliveries: webhookDeliveryStore,
      endpointExists: async (id) => (await webhookEndpoints.find(id)) !== undefined,
      nudge: () => webhookWorker.nudge(),
    }),
    webhooks: createWebhookService({
      cursors,
      endpoints: webhookEndpoints,
      targets: { allowPrivate: config.webhookAllowPrivateTargets },
    }),
    enrollments,
    content: createContentService({
      database,
      courses: courseStore,
      content: contentStore,
      enrollments: enrollmentStore,
      metrics,
      outbox,
    }),
    /** Start-up tasks that need a migrated database: the first admin from ADMIN_EMAIL. */
    async startup(): Promise<void> {
      const warmUp = passwords.warmUp();
      await Promise.all([limits.ready(), sessionEvents.start()]);
      idempotency.start();
      if (config.adminEmail && config.adminPassword) {
        const outcome = await users.ensureAdmin({
          email: config.adminEmail,
          password: config.adminPassword,
        });
        if (outcome === 'created') logger.info(`created the first admin, ${config.adminEmail}`);
      }
      await warmUp;
    },
    /** Releases what the services hold besides the database (mail transport, limiter stores). */
    async close(): Promise<void> {
      // First, while the database is there: deliveries in flight finish or are released.
      await webhookWorker.stop();
      await mailer.close();
      await limits.close();
      await sessionEvents.close();
      await idempotency.close();
    },
  };
}

export type Services = ReturnType<typeof createServices>;
