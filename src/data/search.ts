import { sql, type SQL } from 'drizzle-orm';
import type { AnyColumn } from 'drizzle-orm';

/**
 * `column` contains `text`, in any case, with `%`, `_` and `\` in the text taken literally.
 * Written as lower(...) LIKE ... ESCAPE so it means the same on PostgreSQL and SQLite.
 */
export function containsIgnoringCase(column: AnyColumn, text: string): SQL {
  const escaped = text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`);
  return sql`lower(${column}) LIKE ${`%${escaped}%`} ESCAPE '\\'`;
}
