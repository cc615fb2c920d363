import type { Config } from '../config';
import type { Database } from '../data/database';
import { createSessionStore } from '../data/sessions';
import { createAuthService } from './auth';
import { createHealthService } from './health';

/** Builds every domain service once, over one database; the HTTP layer only calls these. */
export function createServices(config: Config, database: Database) {
  const tokens = {
    secret: config.jwtSecret,
    issuer: config.jwtIssuer,
    audience: config.jwtAudience,
    accessTokenTtl: config.accessTokenTtl,
  };
  const sessions = createSessionStore(database);
  return {
    config,
    database,
    health: createHealthService(database),
    auth: createAuthService({ tokens, sessions }),
    /** Start-up tasks that need a migrated database (the first admin, in the identity issue). */
    async startup(): Promise<void> {},
    /** Releases what the services hold besides the database (mail transport, limiter stores). */
    async close(): Promise<void> {},
  };
}

export type Services = ReturnType<typeof createServices>;
