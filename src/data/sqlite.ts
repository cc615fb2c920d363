import path from 'node:path';
import { mkdirSync } from 'node:fs';
import { drizzle as drizzleLibsql } from 'drizzle-orm/libsql';
import { migrate as migrateLibsql } from 'drizzle-orm/libsql/migrator';
import { createClient } from '@libsql/client';
import { committing, MIGRATIONS, type Database, type Db, type Tables } from './database';
import * as sqliteSchema from './schema/sqlite';
import { Mutex } from './mutex';

/** SQLite through libsql: the zero-setup local database (see `openDatabase`). */
export function openSqlite(url: string): Database {
  const file = url.slice('file:'.length);
  if (file && file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const client = createClient({ url });
  const db = drizzleLibsql(client) as unknown as Db;
  // SQLite has one writer. Its busy wait is synchronous and would block the very event loop the
  // lock holder needs, so writers queue here instead, in order, without blocking.
  const writer = new Mutex();
  return {
    dialect: 'sqlite',
    url,
    db,
    t: sqliteSchema as unknown as Tables,
    ...committing((fn) => writer.run(() => db.transaction(fn))),
    async ping() {
      await client.execute('SELECT 1');
    },
    async migrate() {
      await client.execute('PRAGMA journal_mode = WAL');
      await migrateLibsql(drizzleLibsql(client), {
        migrationsFolder: path.join(MIGRATIONS, 'sqlite'),
      });
    },
    async close() {
      client.close();
    },
  };
}
