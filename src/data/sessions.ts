import { randomUUID } from 'node:crypto';
import { and, eq, isNull, ne, sql, type Placeholder } from 'drizzle-orm';
import { prepared, type Database, type Db } from './database';
import type { SessionEvents } from './session-events';
import type { Role, UserStatus } from '../domain';

export interface SessionOwner {
  role: Role;
  status: UserStatus;
  revoked: boolean;
  expiresAt: Date;
}

/** A refresh token found by its hash, with what decides whether it may still be spent. */
export interface RefreshTokenRecord {
  id: string;
  sessionId: string;
  userId: string;
  expiresAt: Date;
  usedAt: Date | null;
  sessionRevoked: boolean;
  /** When the login happened: no token of the session outlives SESSION_MAX_AGE after it. */
  sessionCreatedAt: Date;
}

/** What one login writes: its session and that session's first refresh token. */
type LoginValues = {
  sessionId: string;
  tokenId: string;
  userId: string;
  tokenHash: string;
  now: Date;
  expiresAt: Date;
};

export function createSessionStore(database: Database, events: SessionEvents) {
  const { db, t } = database;
  const owner = prepared(database, 'session_owner', (on) =>
    on
      .select({
        role: t.users.role,
        status: t.users.status,
        revokedAt: t.sessions.revokedAt,
        expiresAt: t.sessions.expiresAt,
      })
      .from(t.sessions)
      .innerJoin(t.users, eq(t.users.id, t.sessions.userId))
      .where(
        and(
          eq(t.sessions.id, sql.placeholder('sessionId')),
          eq(t.users.id, sql.placeholder('userId')),
          isNull(t.users.deletedAt),
        ),
      )
      .limit(1),
  );
  const revokeWhere = async (tx: Db, where: ReturnType<typeof and>) => {
    await tx
      .update(t.sessions)
      .set({ revokedAt: new Date() })
      .where(and(where, isNull(t.sessions.revokedAt)));
  };

  /** The session row and its first refresh token's, from a login's values or their placeholders. */
  const loginRows = (v: LoginValues | { [K in keyof LoginValues]: Placeholder }) => ({
    session: { id: v.sessionId, userId: v.userId, createdAt: v.now, expiresAt: v.expiresAt },
    token: {
      id: v.tokenId,
      sessionId: v.sessionId,
      tokenHash: v.tokenHash,
      createdAt: v.now,
      expiresAt: v.expiresAt,
    },
  });
  const openLogin =
    database.dialect === 'postgresql'
      ? prepared(database, 'session_open', (on) => {
          const rows = loginRows({
            sessionId: sql.placeholder('sessionId'),
            tokenId: sql.placeholder('tokenId'),
            userId: sql.placeholder('userId'),
            tokenHash: sql.placeholder('tokenHash'),
            now: sql.placeholder('now'),
            expiresAt: sql.placeholder('expiresAt'),
          });
          const session = on.$with('session').as(on.insert(t.sessions).values(rows.session));
          return on.with(session).insert(t.refreshTokens).values(rows.token);
        })
      : undefined;

  return {
    /**
     * A new login: the session row and its first refresh token (stored as a hash), together or
     * not at all. On PostgreSQL that is one statement (the session inserted in a `WITH`), one
     * round trip instead of a transaction's four; SQLite's writes are in-process and take the
     * transaction.
     */
    async create(input: {
      userId: string;
      refreshTokenHash: string;
      expiresAt: Date;
    }): Promise<string> {
      const values: LoginValues = {
        sessionId: randomUUID(),
        tokenId: randomUUID(),
        userId: input.userId,
        tokenHash: input.refreshTokenHash,
        now: new Date(),
        expiresAt: input.expiresAt,
      };
      if (openLogin) await openLogin(values);
      else {
        const rows = loginRows(values);
        await database.transaction(async (tx) => {
          await tx.insert(t.sessions).values(rows.session);
          await tx.insert(t.refreshTokens).values(rows.token);
        });
      }
      return values.sessionId;
    },

    async findRefreshToken(
      tokenHash: string,
      tx: Db = db,
    ): Promise<RefreshTokenRecord | undefined> {
      const [row] = await tx
        .select({
          id: t.refreshTokens.id,
          sessionId: t.refreshTokens.sessionId,
          userId: t.sessions.userId,
          expiresAt: t.refreshTokens.expiresAt,
          usedAt: t.refreshTokens.usedAt,
          revokedAt: t.sessions.revokedAt,
          sessionCreatedAt: t.sessions.createdAt,
        })
        .from(t.refreshTokens)
        .innerJoin(t.sessions, eq(t.sessions.id, t.refreshTokens.sessionId))
        .where(eq(t.refreshTokens.tokenHash, tokenHash))
        .limit(1);
      if (!row) return undefined;
      const { revokedAt, ...rest } = row;
      return { ...rest, sessionRevoked: revokedAt !== null };
    },

    /**
     * Spends one refresh token and adds its successor to the same session, whose expiry slides
     * with it. False when the token was spent meanwhile (a concurrent use): the conditional
     * update lets only one of two racing requests win.
     */
    async rotate(
      tx: Db,
      input: { tokenId: string; sessionId: string; newTokenHash: string; expiresAt: Date },
    ): Promise<boolean> {
      const now = new Date();
      const spent = await tx
        .update(t.refreshTokens)
        .set({ usedAt: now })
        .where(and(eq(t.refreshTokens.id, input.tokenId), isNull(t.refreshTokens.usedAt)))
        .returning({ id: t.refreshTokens.id });
      if (spent.length === 0) return false;
      await tx.insert(t.refreshTokens).values({
        id: randomUUID(),
        sessionId: input.sessionId,
        tokenHash: input.newTokenHash,
        createdAt: now,
        expiresAt: input.expiresAt,
      });
      await tx
        .update(t.sessions)
        .set({ expiresAt: input.expiresAt })
        .where(eq(t.sessions.id, input.sessionId));
      return true;
    },

    /** Ends one login: its access tokens and refresh tokens stop working at once. */
    async revoke(tx: Db, sessionId: string): Promise<void> {
      await revokeWhere(tx, eq(t.sessions.id, sessionId));
      await events.announce(tx, { sessionId });
    },

    /** Ends every login of a user, or every one but `exceptSessionId`. */
    async revokeAllForUser(tx: Db, userId: string, exceptSessionId?: string): Promise<void> {
      await revokeWhere(
        tx,
        exceptSessionId === undefined
          ? eq(t.sessions.userId, userId)
          : and(eq(t.sessions.userId, userId), ne(t.sessions.id, exceptSessionId)),
      );
      await events.announce(tx, { userId });
    },

    /**
     * The read behind an authenticated request: the session (one login's token family) and its
     * user, by primary keys. Served from memory by services/session-cache.ts, which the changes
     * announced here (revocation) and in users.ts (suspension, deletion, role) keep true.
     */
    async findOwner(sessionId: string, userId: string): Promise<SessionOwner | undefined> {
      const [row] = await owner({ sessionId, userId });
      if (!row) return undefined;
      return {
        role: row.role,
        status: row.status,
        revoked: row.revokedAt !== null,
        expiresAt: row.expiresAt,
      };
    },
  };
}

export type SessionStore = ReturnType<typeof createSessionStore>;
