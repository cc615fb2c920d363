import type { SessionStore } from '../data/sessions';
import { problems } from '../errors';
import { verifyAccessToken, type TokenSettings } from './tokens';
import type { Role } from './types';

/** Who is calling: established once per request by the security handler. */
export interface Caller {
  userId: string;
  sessionId: string;
  role: Role;
}

export function createAuthService(deps: { tokens: TokenSettings; sessions: SessionStore }) {
  return {
    /**
     * A bearer token is good when its signature and claims verify and its session is live:
     * not logged out, not revoked by a password change, reset or suspension. The role comes
     * from the database, so a role change applies to tokens already issued.
     */
    async authenticate(token: string): Promise<Caller> {
      const claims = await verifyAccessToken(deps.tokens, token);
      if (!claims) throw problems.unauthorized('The bearer token is not valid or has expired.');
      const owner = await deps.sessions.findOwner(claims.sessionId, claims.userId);
      if (!owner || owner.revoked || owner.status !== 'active') {
        throw problems.unauthorized('The bearer token has been revoked.');
      }
      return { userId: claims.userId, sessionId: claims.sessionId, role: owner.role };
    },
  };
}

export type AuthService = ReturnType<typeof createAuthService>;
