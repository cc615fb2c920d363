import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { openDatabase, type Database } from '../../src/data/database';
import { createSessionEvents, type SessionEvents } from '../../src/data/session-events';
import { createSessionStore } from '../../src/data/sessions';
import { createSessionCache } from '../../src/services/session-cache';
import { DIALECTS, createTestDatabase, type TestDatabase } from '../helpers/databases';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy';

const describePg = DIALECTS.includes('postgresql') ? describe : describe.skip;

async function until(check: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// The channel is cut between the listener and PostgreSQL (a proxy in front of the listener's
// connection only): while it is down, the cache must read the database on every request.
describePg('the session cache while its channel is down', () => {
  let testDb: TestDatabase;
  let database: Database;
  let proxy: TcpProxy;
  let events: SessionEvents;

  beforeAll(async () => {
    testDb = await createTestDatabase('postgresql');
    database = openDatabase(testDb.url);
    await database.migrate();
    proxy = await startTcpProxy({ host: '127.0.0.1', port: 5432 });
    const viaProxy = new URL(testDb.url);
    viaProxy.port = String(proxy.port);
    events = createSessionEvents({ ...database, url: viaProxy.toString() });
    await events.start();
  });
  afterAll(async () => {
    await events.close();
    await proxy.stop();
    await database.close();
    await testDb.drop();
  });

  it('serves from memory while live, from the database while cut, and from memory again', async () => {
    const { t } = database;
    const cache = createSessionCache(createSessionStore(database, events), events);
    const userId = randomUUID();
    const sessionId = randomUUID();
    const now = new Date();
    await database.db.insert(t.users).values({
      id: userId,
      email: `cache-${userId}@example.com`,
      name: 'Cache',
      bio: null,
      role: 'student',
      status: 'active',
      emailVerified: true,
      passwordHash: '!',
      createdAt: now,
      updatedAt: now,
    });
    await database.db.insert(t.sessions).values({
      id: sessionId,
      userId,
      createdAt: now,
      expiresAt: new Date(now.getTime() + 3_600_000),
    });
    // A write that announces nothing, as a stand-in for a change whose notice is lost.
    const setRevoked = (revokedAt: Date | null) =>
      database.db.update(t.sessions).set({ revokedAt }).where(eq(t.sessions.id, sessionId));

    expect(events.isLive()).toBe(true);
    expect(await cache.findOwner(sessionId, userId)).toMatchObject({ revoked: false });
    await setRevoked(new Date());
    // Live: the kept state is served (only an announced change would drop it).
    expect(await cache.findOwner(sessionId, userId)).toMatchObject({ revoked: false });

    await proxy.cut();
    await until(() => !events.isLive());
    // Cut: every read goes to the database, so the revocation is seen at once.
    expect(await cache.findOwner(sessionId, userId)).toMatchObject({ revoked: true });
    await setRevoked(null);
    expect(await cache.findOwner(sessionId, userId)).toMatchObject({ revoked: false });
    await setRevoked(new Date());
    expect(await cache.findOwner(sessionId, userId)).toMatchObject({ revoked: true });

    await proxy.restore();
    await until(() => events.isLive());
    // Back: what was kept before the cut was dropped, and memory serves again.
    expect(await cache.findOwner(sessionId, userId)).toMatchObject({ revoked: true });
    await setRevoked(null);
    expect(await cache.findOwner(sessionId, userId)).toMatchObject({ revoked: true });
  });
});
