import type { Config } from '../config';
import { createContentStore } from '../data/content';
import { createCourseStore } from '../data/courses';
import type { Database } from '../data/database';
import { createEmailTokenStore } from '../data/email-tokens';
import { createEnrollmentStore } from '../data/enrollments';
import { createSessionEvents } from '../data/session-events';
import { createSessionStore } from '../data/sessions';
import { createUserStore } from '../data/users';
import { logger } from '../logger';
import { createMetrics } from '../observability/metrics';
import { createAuthService } from './auth';
import { createContentService } from './content';
import { createCourseService } from './courses';
import { createCursorCodec } from './cursor';
import { createEnrollmentService } from './enrollments';
import { createHealthService } from './health';
import { createLimits } from './limits';
import { createMailer } from './mailer';
import { createPasswordHasher } from './passwords';
import { createSessionCache } from './session-cache';
import { createUserService } from './users';

/** Builds every domain service once, over one database; the HTTP layer only calls these. */
export function createServices(config: Config, database: Database) {
  const tokens = {
    secret: config.jwtSecret,
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

  // One registry per instance: tests run several instances in one process.
  const metrics = createMetrics(database);
  const limits = createLimits(config, database, metrics);
  const cursors = createCursorCodec(config.jwtSecret);
  const passwords = createPasswordHasher();
  const mailer = createMailer(config, metrics);
  const courses = createCourseService({ database, cursors, courses: courseStore });
  const enrollments = createEnrollmentService({
    database,
    cursors,
    courses: courseStore,
    enrollments: enrollmentStore,
    content: contentStore,
    metrics,
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
    }),
    users,
    courses,
    enrollments,
    content: createContentService({
      database,
      courses: courseStore,
      content: contentStore,
      enrollments: enrollmentStore,
      metrics,
    }),
    /** Start-up tasks that need a migrated database: the first admin from ADMIN_EMAIL. */
    async startup(): Promise<void> {
      const warmUp = passwords.warmUp();
      await Promise.all([limits.ready(), sessionEvents.start()]);
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
      await mailer.close();
      await limits.close();
      await sessionEvents.close();
    },
  };
}

export type Services = ReturnType<typeof createServices>;
