import type { components } from '../generated/openapi';
import type { Database, Db } from '../data/database';
import type { SessionStore } from '../data/sessions';
import type { UserPatch, UserRow, UserStore } from '../data/users';
import { HttpProblem, problems } from '../errors';
import type { Caller } from './auth';
import type { CourseService } from './courses';
import { listingScope, type CursorCodec } from './cursor';
import type { EnrollmentService } from './enrollments';
import { fetchPage, type Page } from './paging';
import type { Limits } from './limits';
import { requireLocale } from './locales';
import type { PasswordHasher } from './passwords';
import type { Role, UserStatus } from '../domain';

type User = components['schemas']['User'];
type CurrentUser = components['schemas']['CurrentUser'];

/** The public shape of an account: fields named one by one, so no hash can ever slip out. */
export function toUser(row: UserRow): User {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    bio: row.bio,
    role: row.role,
    status: row.status,
    emailVerified: row.emailVerified,
    locale: row.locale,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

const notFound = () => problems.notFound('No such user.');
const lastAdmin = () =>
  problems.conflict('last-admin', 'This is the last active admin; promote another admin first.');

export interface UserDeps {
  database: Database;
  users: UserStore;
  sessions: SessionStore;
  passwords: PasswordHasher;
  cursors: CursorCodec;
  courses: CourseService;
  enrollments: EnrollmentService;
  limits: Limits;
}

export function createUserService(deps: UserDeps) {
  const { database, users, sessions, passwords } = deps;

  /** Refuses when `target` is an active admin and no other active admin would remain. */
  async function assertNotLastAdmin(tx: Db, target: UserRow): Promise<void> {
    if (target.role !== 'admin' || target.status !== 'active') return;
    if ((await users.otherActiveAdmins(tx, target.id)).length === 0) throw lastAdmin();
  }

  async function remove(userId: string): Promise<void> {
    await database.transaction(async (tx) => {
      const target = await users.findById(userId, tx);
      if (!target) throw notFound();
      if (await deps.courses.ownsLiveCourses(tx, userId)) {
        throw problems.conflict(
          'owns-courses',
          'The account still owns courses; delete them first.',
        );
      }
      await assertNotLastAdmin(tx, target);
      await deps.enrollments.cancelAllForUser(tx, userId);
      await sessions.revokeAllForUser(tx, userId);
      await users.softDelete(tx, userId);
    });
  }

  return {
    async getCurrent(caller: Caller): Promise<CurrentUser> {
      const row = await users.findById(caller.userId);
      if (!row) throw notFound();
      return { ...toUser(row), enrollments: await deps.enrollments.summaryForUser(row.id) };
    },

    async updateCurrent(
      caller: Caller,
      patch: { name?: string; bio?: string | null; locale?: string },
    ): Promise<User> {
      // Only these fields, named one by one: the store's patch could set any column.
      const changes: UserPatch = {};
      if (patch.name !== undefined) changes.name = patch.name;
      if (patch.bio !== undefined) changes.bio = patch.bio;
      if (patch.locale !== undefined) changes.locale = requireLocale(patch.locale);
      const row = await database.transaction((tx) => users.update(tx, caller.userId, changes));
      if (!row) throw notFound();
      return toUser(row);
    },

    /**
     * Checks the current password, sets the new one and ends every other session of the user.
     * Wrong current passwords count per user like failed logins, so a stolen access token cannot
     * be used to guess the password.
     */
    async changePassword(
      caller: Caller,
      currentPassword: string,
      newPassword: string,
    ): Promise<void> {
      passwords.admit();
      const { passed } = await deps.limits.passwordChange.check(caller.userId, async () => {
        const row = await users.findById(caller.userId);
        if (!row) throw notFound();
        return passwords.verify(row.passwordHash, currentPassword);
      });
      if (!passed) throw new HttpProblem(400, 'wrong-password', 'The current password is wrong.');
      const passwordHash = await passwords.hash(newPassword);
      await database.transaction(async (tx) => {
        await users.update(tx, caller.userId, { passwordHash });
        await sessions.revokeAllForUser(tx, caller.userId, caller.sessionId);
      });
    },

    deleteCurrent: (caller: Caller) => remove(caller.userId),

    async list(query: {
      role?: Role;
      status?: UserStatus;
      q?: string;
      limit?: number;
      cursor?: string;
    }): Promise<Page<User>> {
      const filters = { role: query.role, status: query.status, q: query.q };
      const page = await fetchPage(deps.cursors, {
        scope: listingScope('users', filters),
        request: query,
        // Newest first: (createdAt in milliseconds, id).
        kinds: ['number', 'string'] as const,
        fetch: (after, limit) =>
          users.list({
            ...filters,
            limit,
            after: after && { createdAt: new Date(after[0]), id: after[1] },
          }),
        keyOf: (row) => [row.createdAt.getTime(), row.id],
      });
      return { items: page.items.map(toUser), nextCursor: page.nextCursor };
    },

    /** An admin sees any live account; anyone else only their own (the rest is 404, not 403). */
    async get(caller: Caller, userId: string): Promise<User> {
      if (caller.role !== 'admin' && caller.userId !== userId) throw notFound();
      const row = await users.findById(userId);
      if (!row) throw notFound();
      return toUser(row);
    },

    /** An admin's change; suspension revokes every session of the user in the same transaction. */
    async update(
      userId: string,
      patch: { name?: string; role?: Role; status?: UserStatus },
    ): Promise<User> {
      const row = await database.transaction(async (tx) => {
        const target = await users.findById(userId, tx);
        if (!target) throw notFound();
        const demoted = patch.role !== undefined && patch.role !== 'admin';
        if (demoted || patch.status === 'suspended') await assertNotLastAdmin(tx, target);
        const changes: UserPatch = {};
        if (patch.name !== undefined) changes.name = patch.name;
        if (patch.role !== undefined) changes.role = patch.role;
        if (patch.status !== undefined) changes.status = patch.status;
        const updated = await users.update(tx, userId, changes);
        if (patch.status === 'suspended') await sessions.revokeAllForUser(tx, userId);
        return updated;
      });
      if (!row) throw notFound();
      return toUser(row);
    },

    deleteUser: (userId: string) => remove(userId),

    /**
     * Creates a verified, active admin unless an account has this email. Safe when several
     * instances start at once: the unique email index decides, and a clash means "already there".
     */
    async ensureAdmin(input: {
      email: string;
      password: string;
      name?: string;
    }): Promise<'created' | 'exists'> {
      if (await users.findByEmail(input.email)) return 'exists';
      const passwordHash = await passwords.hash(input.password);
      const row = await database.transaction((tx) =>
        users.insert(tx, {
          email: input.email,
          name: input.name ?? 'Administrator',
          role: 'admin',
          emailVerified: true,
          passwordHash,
        }),
      );
      return row ? 'created' : 'exists';
    },
  };
}

export type UserService = ReturnType<typeof createUserService>;
