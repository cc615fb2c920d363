import { randomUUID } from 'node:crypto';
import { and, desc, eq, isNull, or, sql, type SQL } from 'drizzle-orm';
import type { Database, Db, Tables } from './database';
import { isUniqueViolation, prepared } from './database';
import { afterPosition } from './keyset';
import { containsIgnoringCase } from './search';
import type { SessionEvents } from './session-events';
import type { Role, UserStatus } from '../domain';

/** A users row, as Drizzle reads it. */
export type UserRow = Tables['users']['$inferSelect'];

export interface NewUser {
  email: string;
  name: string;
  role: Role;
  emailVerified: boolean;
  passwordHash: string;
  /** A canonical BCP 47 tag; `en` when left out. */
  locale?: string;
}

export type UserPatch = Partial<
  Pick<UserRow, 'name' | 'bio' | 'locale' | 'role' | 'status' | 'emailVerified' | 'passwordHash'>
>;

export interface UserFilter {
  role?: Role;
  status?: UserStatus;
  q?: string;
  limit: number;
  /** The keyset position of the last row of the previous page. */
  after?: { createdAt: Date; id: string };
}

export function createUserStore(database: Database, events: SessionEvents) {
  const { db, t } = database;
  const live = isNull(t.users.deletedAt);
  const byColumn = (name: string, column: typeof t.users.id | typeof t.users.email) =>
    prepared(database, name, (on) =>
      on
        .select()
        .from(t.users)
        .where(and(eq(column, sql.placeholder('value')), live))
        .limit(1),
    );
  const byId = byColumn('user_by_id', t.users.id);
  const byEmail = byColumn('user_by_email', t.users.email);

  return {
    /** The new row, or undefined when the (lowercased) email is taken. */
    async insert(tx: Db, user: NewUser): Promise<UserRow | undefined> {
      const now = new Date();
      const row: UserRow = {
        id: randomUUID(),
        ...user,
        email: user.email.toLowerCase(),
        locale: user.locale ?? 'en',
        bio: null,
        status: 'active',
        createdAt: now,
        updatedAt: now,
        deletedAt: null,
      };
      try {
        // A savepoint, so that a clash leaves the caller's transaction usable on PostgreSQL.
        await tx.transaction(async (inner) => {
          await inner.insert(t.users).values(row);
        });
      } catch (err) {
        if (isUniqueViolation(err)) return undefined;
        throw err;
      }
      return row;
    },

    async findById(id: string, tx: Db = db): Promise<UserRow | undefined> {
      const [row] = await byId({ value: id }, tx);
      return row;
    },

    async findByEmail(email: string, tx: Db = db): Promise<UserRow | undefined> {
      const [row] = await byEmail({ value: email.toLowerCase() }, tx);
      return row;
    },

    /** Applies `patch` to a live user; the updated row, or undefined when there is none. */
    async update(tx: Db, id: string, patch: UserPatch): Promise<UserRow | undefined> {
      const [row] = await tx
        .update(t.users)
        .set({ ...patch, updatedAt: new Date() })
        .where(and(eq(t.users.id, id), live))
        .returning();
      // What a session may do follows the user's role and status.
      if (row && (patch.role !== undefined || patch.status !== undefined)) {
        await events.announce(tx, { userId: id });
      }
      return row;
    },

    /**
     * Puts `next` in place of the hash `current` (the same password, hashed with the live
     * settings), unless the password has changed meanwhile. Not a change the user made: the
     * row's `updatedAt` stays.
     */
    async replacePasswordHash(id: string, current: string, next: string): Promise<void> {
      await db
        .update(t.users)
        .set({ passwordHash: next })
        .where(and(eq(t.users.id, id), eq(t.users.passwordHash, current), live));
    },

    /**
     * The ids of the active admins other than `exceptId`. On PostgreSQL every active admin row,
     * the target's included, is locked in id order for the transaction: two admins demoting each
     * other at once then queue instead of deadlocking, and the second sees the first's change.
     * SQLite runs one write transaction at a time anyway.
     */
    async otherActiveAdmins(tx: Db, exceptId: string): Promise<string[]> {
      const query = tx
        .select({ id: t.users.id })
        .from(t.users)
        .where(and(eq(t.users.role, 'admin'), eq(t.users.status, 'active'), live))
        .orderBy(t.users.id);
      const rows = database.dialect === 'postgresql' ? await query.for('update') : await query;
      return rows.map((r) => r.id).filter((id) => id !== exceptId);
    },

    /**
     * Soft delete: the row stays for the history that points at it, but its email is freed for a
     * new registration and its personal data and password are wiped. The placeholder has no `@`,
     * so no email a client can register ever collides with it.
     */
    async softDelete(tx: Db, id: string): Promise<void> {
      const now = new Date();
      await tx
        .update(t.users)
        .set({
          email: `deleted:${id}`,
          name: 'Deleted user',
          bio: null,
          passwordHash: '!',
          updatedAt: now,
          deletedAt: now,
        })
        .where(and(eq(t.users.id, id), live));
      await events.announce(tx, { userId: id });
    },

    /** One page, newest first on (createdAt, id): the users_created_at_idx / users_role_idx order. */
    async list(filter: UserFilter): Promise<UserRow[]> {
      const conditions: (SQL | undefined)[] = [live];
      if (filter.role) conditions.push(eq(t.users.role, filter.role));
      if (filter.status) conditions.push(eq(t.users.status, filter.status));
      if (filter.q) {
        conditions.push(
          or(
            containsIgnoringCase(t.users.email, filter.q, database.dialect),
            containsIgnoringCase(t.users.name, filter.q, database.dialect),
          ),
        );
      }
      if (filter.after) {
        const { createdAt, id } = filter.after;
        conditions.push(
          afterPosition(t.users.createdAt, t.users.id, { value: createdAt, id }, true),
        );
      }
      return db
        .select()
        .from(t.users)
        .where(and(...conditions))
        .orderBy(desc(t.users.createdAt), desc(t.users.id))
        .limit(filter.limit);
    },
  };
}

export type UserStore = ReturnType<typeof createUserStore>;
