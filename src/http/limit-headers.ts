import type { LimitState } from '../domain';

/** The RateLimit-* header fields that tell a client where it stands against one limit. */
export function limitHeaders(state: LimitState): Record<string, string> {
  return {
    'RateLimit-Limit': String(state.limit),
    'RateLimit-Remaining': String(state.remaining),
    'RateLimit-Reset': String(state.resetSeconds),
  };
}
