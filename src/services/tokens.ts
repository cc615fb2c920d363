import { hash, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';
import type { Role } from '../domain';

export interface AccessClaims {
  userId: string;
  sessionId: string;
  role: Role;
}

export interface TokenSettings {
  /**
   * A KeyObject made once (`createSecretKey`): jose imports a raw Uint8Array secret afresh on
   * every sign and verify, but keeps the key it derives from a KeyObject.
   */
  secret: KeyObject;
  issuer: string;
  audience: string;
  accessTokenTtl: number;
}

// Pinned: a token that names any other algorithm (including "none") is refused.
const ALGORITHM = 'HS256';

export async function signAccessToken(settings: TokenSettings, claims: AccessClaims) {
  return new SignJWT({ role: claims.role, sid: claims.sessionId })
    .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setSubject(claims.userId)
    .setJti(randomUUID())
    .setIssuedAt()
    .setExpirationTime(`${settings.accessTokenTtl}s`)
    .sign(settings.secret);
}

/** Verified tokens kept per settings at most; past it the cache starts afresh. */
const MAX_VERIFIED = 50_000;
const verifiedBySettings = new WeakMap<
  TokenSettings,
  Map<string, { claims: AccessClaims; expiresAt: number }>
>();

/**
 * Verifies signature, algorithm, issuer, audience and expiry; undefined when any fails. A token
 * that verified is remembered until it expires, so a client's next requests skip the HMAC (the
 * token is the exact string that verified; its session is still checked on every request).
 */
export async function verifyAccessToken(
  settings: TokenSettings,
  token: string,
): Promise<AccessClaims | undefined> {
  let verified = verifiedBySettings.get(settings);
  if (!verified) verifiedBySettings.set(settings, (verified = new Map()));
  const kept = verified.get(token);
  if (kept) {
    if (kept.expiresAt > Date.now()) return kept.claims;
    verified.delete(token);
  }
  try {
    const { payload } = await jwtVerify(token, settings.secret, {
      algorithms: [ALGORITHM],
      issuer: settings.issuer,
      audience: settings.audience,
      requiredClaims: ['sub', 'exp', 'iat', 'jti'],
    });
    if (typeof payload.sid !== 'string' || typeof payload.sub !== 'string') return undefined;
    const claims = { userId: payload.sub, sessionId: payload.sid, role: payload.role as Role };
    if (verified.size >= MAX_VERIFIED) verified.clear();
    verified.set(token, { claims, expiresAt: (payload.exp ?? 0) * 1000 });
    return claims;
  } catch {
    return undefined;
  }
}

/** An opaque token (refresh, email verification, password reset): 256 random bits. */
export function newOpaqueToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Only this hash is stored. The tokens carry 256 bits of entropy, so a fast hash is enough: there
 * is nothing to brute-force, and lookups by hash stay a single indexed read.
 */
export function hashToken(token: string): string {
  return hash('sha256', token, 'base64url');
}
