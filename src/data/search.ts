import { sql, type AnyColumn, type SQL } from 'drizzle-orm';
import type { Dialect } from './database';

const asciiLower = (text: string) => text.replace(/[A-Z]/g, (c) => c.toLowerCase());

/**
 * `column` contains `text`, in any case, with `%`, `_` and `\` in the text taken literally.
 * Written as lower(...) LIKE ... ESCAPE so it means the same on PostgreSQL and SQLite, except that
 * SQLite's lower() folds ASCII letters only: there the text is folded the same way, so an exact
 * "École" still finds "École", though "école" does not (PostgreSQL finds both).
 */
export function containsIgnoringCase(column: AnyColumn, text: string, dialect: Dialect): SQL {
  const folded = dialect === 'sqlite' ? asciiLower(text) : text.toLowerCase();
  const escaped = folded.replace(/[\\%_]/g, (c) => `\\${c}`);
  return sql`lower(${column}) LIKE ${`%${escaped}%`} ESCAPE '\\'`;
}
