import type { Database } from '../data/database';
import { problems } from '../errors';

const PING_TIMEOUT_MS = 2_000;

export function createHealthService(database: Database) {
  const state = { migrated: false };
  return {
    /** Set once migrations have been applied; until then the API answers 503. */
    markReady() {
      state.migrated = true;
    },
    isReady: () => state.migrated,
    /** The database answers within the timeout, or the service is not ready. */
    async checkReadiness(): Promise<void> {
      if (!state.migrated) throw problems.unavailable('The database has not been migrated yet.');
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(problems.unavailable()), PING_TIMEOUT_MS);
      });
      try {
        await Promise.race([database.ping(), timeout]);
      } catch {
        throw problems.unavailable();
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
