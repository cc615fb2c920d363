import { createSecretKey } from 'node:crypto';
import { randomUUID } from 'node:crypto';
import argon2 from 'argon2';
import { HASH_OPTIONS } from '../../src/services/passwords';
import { signAccessToken } from '../../src/services/tokens';
import type { Role } from '../../src/domain';
import type { TestApp } from './app';

export interface TestUser {
  id: string;
  email: string;
  name: string;
  password: string;
  role: Role;
  /** A bearer access token of a live session. */
  token: string;
  sessionId: string;
}

const PASSWORD = 'correct-horse-battery-staple';
let passwordHash: Promise<string> | undefined;

/** `password` hashed as releases before the 7 MiB setting did (argon2id, 19 MiB, 2 passes). */
export const olderHash = (password: string) =>
  argon2.hash(password, { ...HASH_OPTIONS, memoryCost: 19_456, timeCost: 2 });

/**
 * Puts a verified, active user with a live session straight into the database, for tests whose
 * subject is not registration or login (those go through the API).
 */
export async function createUser(
  t: TestApp,
  options: { role?: Role; name?: string; email?: string } = {},
): Promise<TestUser> {
  passwordHash ??= argon2.hash(PASSWORD, HASH_OPTIONS);
  const tables = t.database.t;
  const now = new Date();
  const id = randomUUID();
  const sessionId = randomUUID();
  const role = options.role ?? 'student';
  // The whole id: the hostile-input suite makes an admin for every case, and 8 hex digits
  // (32 bits) once collided in CI.
  const email = options.email ?? `${role}-${id}@example.com`;
  const name = options.name ?? `Test ${role} ${id.slice(0, 4)}`;
  await t.database.transaction(async (tx) => {
    await tx.insert(tables.users).values({
      id,
      email,
      name,
      bio: null,
      role,
      status: 'active',
      emailVerified: true,
      passwordHash: await passwordHash!,
      createdAt: now,
      updatedAt: now,
    });
    await tx.insert(tables.sessions).values({
      id: sessionId,
      userId: id,
      createdAt: now,
      expiresAt: new Date(now.getTime() + 3_600_000),
    });
  });
  const token = await signAccessToken(
    {
      secret: createSecretKey(t.config.jwtSecret),
      issuer: t.config.jwtIssuer,
      audience: t.config.jwtAudience,
      accessTokenTtl: t.config.accessTokenTtl,
    },
    { userId: id, sessionId, role },
  );
  return { id, email, name, password: PASSWORD, role, token, sessionId };
}

export const bearer = (user: { token: string }) => ({ Authorization: `Bearer ${user.token}` });
