import type { Config } from '../config';
import type { Database, Db } from '../data/database';
import type { EmailTokenStore } from '../data/email-tokens';
import type { SessionStore } from '../data/sessions';
import type { SessionCache } from './session-cache';
import type { UserRow, UserStore } from '../data/users';
import { HttpProblem, problems } from '../errors';
import { logger } from '../logger';
import { recordOutcome, type Metrics } from '../observability/metrics';
import type { Limits } from './limits';
import { templateLocales } from '../emails';
import { negotiateLocale, requireLocale } from './locales';
import { emails, type Mailer } from './mailer';
import type { Outbox } from './outbox';
import { needsRehash, type PasswordHasher } from './passwords';
import { toUser } from './users';
import {
  hashToken,
  newOpaqueToken,
  signAccessToken,
  verifyAccessToken,
  type TokenSettings,
} from './tokens';
import type { LimitState, Role } from '../domain';

/** Who is calling: established once per request by the security handler. */
export interface Caller {
  userId: string;
  sessionId: string;
  role: Role;
}

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
}

/** How long an emailed token works. */
const EMAIL_TOKEN_TTL_MS = { 'verify-email': 24 * 3600_000, 'reset-password': 3600_000 } as const;

const invalidToken = () =>
  new HttpProblem(400, 'invalid-token', 'The token is unknown, expired or already used.');
const badRefreshToken = () =>
  problems.unauthorized('The refresh token is unknown, expired, already used or revoked.');

export interface AuthDeps {
  config: Config;
  database: Database;
  tokens: TokenSettings;
  sessions: SessionStore;
  sessionCache: SessionCache;
  users: UserStore;
  emailTokens: EmailTokenStore;
  passwords: PasswordHasher;
  mailer: Mailer;
  limits: Limits;
  metrics: Metrics;
  outbox: Outbox;
}

export function createAuthService(deps: AuthDeps) {
  const { config, database, sessions, users, emailTokens, passwords, mailer, metrics } = deps;
  /** A refresh token lives REFRESH_TOKEN_TTL, and never past SESSION_MAX_AGE after its login. */
  const refreshExpiry = (loggedInAt: Date) =>
    new Date(
      Math.min(
        Date.now() + config.refreshTokenTtl * 1000,
        loggedInAt.getTime() + config.sessionMaxAge * 1000,
      ),
    );

  const accessToken = (user: Pick<UserRow, 'id' | 'role'>, sessionId: string) =>
    signAccessToken(deps.tokens, { userId: user.id, sessionId, role: user.role });

  const pair = async (
    user: UserRow,
    sessionId: string,
    refreshToken: string,
  ): Promise<TokenPair> => ({
    accessToken: await accessToken(user, sessionId),
    refreshToken,
    tokenType: 'Bearer',
    expiresIn: config.accessTokenTtl,
  });

  /** A new single-use token for an email, issued inside `tx`; only its hash is stored. */
  async function issueEmailToken(
    tx: Db,
    userId: string,
    purpose: keyof typeof EMAIL_TOKEN_TTL_MS,
  ): Promise<string> {
    const token = newOpaqueToken();
    await emailTokens.issue(tx, {
      userId,
      purpose,
      tokenHash: hashToken(token),
      expiresAt: new Date(Date.now() + EMAIL_TOKEN_TTL_MS[purpose]),
    });
    return token;
  }

  /** The verification email for `user`; it goes out after the token's transaction commits. */
  const verificationMail = (user: Pick<UserRow, 'email' | 'name' | 'locale'>, token: string) =>
    emails.verification(config.appBaseUrl, user, token);

  /**
   * A hash made with older settings is remade with the live ones once its password is known
   * right. Best effort: when it cannot be done now (the hash queue full, say), the next login
   * tries again.
   */
  async function upgradeHash(user: UserRow, password: string): Promise<void> {
    if (!needsRehash(user.passwordHash)) return;
    try {
      await users.replacePasswordHash(user.id, user.passwordHash, await passwords.hash(password));
    } catch (err) {
      logger.warn(`password hash not remade with the live settings: ${String(err)}`);
    }
  }

  /**
   * Checks the password under the login limits and opens a session; the caller counts the outcome.
   */
  async function signIn(
    input: { email: string; password: string },
    ip: string,
  ): Promise<{ tokens: TokenPair; limit: LimitState }> {
    passwords.admit();
    const email = input.email.toLowerCase();
    const found: { user?: UserRow } = {};
    const { passed, limit } = await deps.limits.login.check(email, ip, async () => {
      const candidate = (found.user = await users.findByEmail(email));
      const matches = candidate
        ? await passwords.verify(candidate.passwordHash, input.password)
        : await passwords.verifyNothing(input.password);
      return matches && candidate?.status === 'active';
    });
    const { user } = found;
    if (!passed || !user) {
      throw new HttpProblem(401, 'invalid-credentials', 'The email or password is wrong.', {
        limit,
      });
    }
    await upgradeHash(user, input.password);
    // The right password was given: the failure count resets even if verification is missing.
    if (config.requireEmailVerification && !user.emailVerified) {
      throw new HttpProblem(
        403,
        'email-not-verified',
        'Confirm your email address with the link we sent, or ask for a new one.',
        { limit },
      );
    }
    const refreshToken = newOpaqueToken();
    const sessionId = await sessions.create({
      userId: user.id,
      refreshTokenHash: hashToken(refreshToken),
      expiresAt: refreshExpiry(new Date()),
    });
    return { tokens: await pair(user, sessionId, refreshToken), limit };
  }

  return {
    /**
     * A bearer token is good when its signature and claims verify and its session is live:
     * not logged out, not revoked by a password change, reset or suspension. The role comes
     * from the database, so a role change applies to tokens already issued.
     */
    async authenticate(token: string): Promise<Caller> {
      const claims = await verifyAccessToken(deps.tokens, token);
      if (!claims) throw problems.unauthorized('The bearer token is not valid or has expired.');
      const owner = await deps.sessionCache.findOwner(claims.sessionId, claims.userId);
      // A session ends when its refresh tokens would: no access token outlives its login.
      if (!owner || owner.revoked || owner.status !== 'active' || owner.expiresAt <= new Date()) {
        throw problems.unauthorized('The bearer token has been revoked.');
      }
      return { userId: claims.userId, sessionId: claims.sessionId, role: owner.role };
    },

    /**
     * The locale is the body's (canonical case; 400 when not well-formed), else the one
     * negotiated from the request's Accept-Language against the languages emails exist in.
     */
    async register(
      input: { email: string; password: string; name: string; locale?: string },
      acceptLanguage?: string,
    ): Promise<UserRow> {
      const locale =
        input.locale !== undefined
          ? requireLocale(input.locale)
          : negotiateLocale(acceptLanguage, templateLocales);
      const passwordHash = await passwords.hash(input.password);
      // Asked before the account is made: a limit store that is down refuses the whole request.
      const mayEmail = await deps.limits.mayEmail(input.email);
      const issued = await database.transaction(async (tx) => {
        const row = await users.insert(tx, {
          email: input.email,
          name: input.name,
          role: 'student',
          emailVerified: false,
          passwordHash,
          locale,
        });
        if (!row) return undefined;
        await deps.outbox.emit(tx, 'user.registered', toUser(row));
        return { user: row, token: await issueEmailToken(tx, row.id, 'verify-email') };
      });
      if (!issued)
        throw problems.conflict('email-taken', 'An account with this email already exists.');
      if (mayEmail) mailer.send(verificationMail(issued.user, issued.token));
      return issued.user;
    },

    async verifyEmail(token: string): Promise<void> {
      const ok = await database.transaction(async (tx) => {
        const userId = await emailTokens.consume(tx, 'verify-email', hashToken(token));
        return (
          userId !== undefined &&
          (await users.update(tx, userId, { emailVerified: true })) !== undefined
        );
      });
      if (!ok) throw invalidToken();
    },

    /** Sends a new verification email when the account exists and is unverified; silent otherwise. */
    async resendVerification(email: string): Promise<void> {
      const user = await users.findByEmail(email);
      if (!user || user.emailVerified || !(await deps.limits.mayEmail(user.email))) return;
      const token = await database.transaction((tx) =>
        issueEmailToken(tx, user.id, 'verify-email'),
      );
      mailer.send(verificationMail(user, token));
    },

    /** The tokens, and where the email and address pair stands against the failure limit. */
    login: (input: { email: string; password: string }, ip: string) =>
      recordOutcome(
        (outcome) => metrics.logins.inc({ outcome }),
        () => 'success',
        signIn(input, ip),
      ),

    /**
     * Rotation with reuse detection: a live token is spent and replaced; a spent one means it
     * was copied, so its whole session (every token of that login) is revoked.
     */
    async refresh(refreshToken: string): Promise<TokenPair> {
      const next = newOpaqueToken();
      const outcome = await database.transaction(async (tx) => {
        const record = await sessions.findRefreshToken(hashToken(refreshToken), tx);
        if (!record) return undefined;
        if (record.usedAt !== null) {
          await sessions.revoke(tx, record.sessionId);
          return undefined;
        }
        if (record.sessionRevoked || record.expiresAt <= new Date()) return undefined;
        const user = await users.findById(record.userId, tx);
        if (!user || user.status !== 'active') return undefined;
        const rotated = await sessions.rotate(tx, {
          tokenId: record.id,
          sessionId: record.sessionId,
          newTokenHash: hashToken(next),
          expiresAt: refreshExpiry(record.sessionCreatedAt),
        });
        if (!rotated) {
          // Spent by a concurrent request a moment ago: reuse all the same.
          await sessions.revoke(tx, record.sessionId);
          return undefined;
        }
        return { user, sessionId: record.sessionId };
      });
      if (!outcome) throw badRefreshToken();
      return pair(outcome.user, outcome.sessionId, next);
    },

    /** Revokes the caller's session, and the refresh token's session when it is the caller's. */
    async logout(caller: Caller, refreshToken?: string): Promise<void> {
      const record = refreshToken
        ? await sessions.findRefreshToken(hashToken(refreshToken))
        : undefined;
      await database.transaction(async (tx) => {
        await sessions.revoke(tx, caller.sessionId);
        if (record && record.userId === caller.userId) await sessions.revoke(tx, record.sessionId);
      });
    },

    /** Sends a reset link when the account exists; silent otherwise. */
    async requestPasswordReset(email: string): Promise<void> {
      const user = await users.findByEmail(email);
      if (!user || !(await deps.limits.mayEmail(user.email))) return;
      const token = await database.transaction((tx) =>
        issueEmailToken(tx, user.id, 'reset-password'),
      );
      mailer.send(emails.passwordReset(config.appBaseUrl, user, token));
    },

    /**
     * Spends the token, sets the password and ends every session. The emailed link proves the
     * address, so the email counts as verified from then on.
     */
    async confirmPasswordReset(token: string, newPassword: string): Promise<void> {
      // The token is checked before anything is hashed: a guess costs a read, not an argon2 run.
      // It is spent below, in the transaction, so two uses at once still get one success.
      if (!(await emailTokens.isLive('reset-password', hashToken(token)))) throw invalidToken();
      const passwordHash = await passwords.hash(newPassword);
      const ok = await database.transaction(async (tx) => {
        const userId = await emailTokens.consume(tx, 'reset-password', hashToken(token));
        if (!userId) return false;
        const user = await users.update(tx, userId, { passwordHash, emailVerified: true });
        if (!user) return false;
        await sessions.revokeAllForUser(tx, userId);
        return true;
      });
      if (!ok) throw invalidToken();
    },
  };
}

export type AuthService = ReturnType<typeof createAuthService>;
