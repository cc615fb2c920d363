import type { Config } from '../config';
import type { Database } from '../data/database';
import { createSessionStore } from '../data/sessions';
import { createAuthService } from './auth';
import { createCourseService } from './courses';
import { createCursorCodec } from './cursor';
import { createEnrollmentService } from './enrollments';
import { createHealthService } from './health';
import { createLimits } from './limits';

/** Builds every domain service once, over one database; the HTTP layer only calls these. */
export function createServices(config: Config, database: Database) {
  const tokens = {
    secret: config.jwtSecret,
    issuer: config.jwtIssuer,
    audience: config.jwtAudience,
    accessTokenTtl: config.accessTokenTtl,
  };
  const sessions = createSessionStore(database);
  const limits = createLimits(config, database);
  const cursors = createCursorCodec(config.jwtSecret);
  return {
    config,
    database,
    health: createHealthService(database),
    limits,
    cursors,
    auth: createAuthService({ tokens, sessions }),
    courses: createCourseService(database),
    enrollments: createEnrollmentService(database),
    /** Start-up tasks that need a migrated database (the first admin, in the identity issue). */
    async startup(): Promise<void> {},
    /** Releases what the services hold besides the database (mail transport, limiter stores). */
    async close(): Promise<void> {
      await limits.close();
    },
  };
}

export type Services = ReturnType<typeof createServices>;
