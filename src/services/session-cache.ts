import type { SessionEvents } from '../data/session-events';
import type { SessionOwner, SessionStore } from '../data/sessions';

/** Sessions kept at most; past it the cache starts afresh (a burst of one-off tokens, say). */
const MAX_ENTRIES = 100_000;

/**
 * The revocation state behind every authenticated request, served from memory. An entry is
 * dropped when its session or user changes (heard through SessionEvents, at once here and
 * within a moment on other instances); while the channel is down nothing is served from memory.
 */
export function createSessionCache(sessions: SessionStore, events: SessionEvents) {
  const owners = new Map<string, { userId: string; owner: SessionOwner }>();
  // Bumped by every change: a read that raced a change is not kept, as it may predate it.
  let epoch = 0;

  events.onEvent((event) => {
    epoch++;
    if (event === 'stale') owners.clear();
    else if ('sessionId' in event) owners.delete(event.sessionId);
    else for (const [id, entry] of owners) if (entry.userId === event.userId) owners.delete(id);
  });

  return {
    /** As `SessionStore.findOwner`, from memory when it can be trusted. */
    async findOwner(sessionId: string, userId: string): Promise<SessionOwner | undefined> {
      const live = events.isLive();
      const kept = live ? owners.get(sessionId) : undefined;
      // A session's expiry only moves later (refresh slides it): an expired entry is re-read.
      if (kept && kept.userId === userId && kept.owner.expiresAt > new Date()) return kept.owner;
      const seen = epoch;
      const owner = await sessions.findOwner(sessionId, userId);
      if (owner && live && seen === epoch && events.isLive()) {
        if (owners.size >= MAX_ENTRIES) owners.clear();
        owners.set(sessionId, { userId, owner });
      }
      return owner;
    },
  };
}

export type SessionCache = ReturnType<typeof createSessionCache>;
