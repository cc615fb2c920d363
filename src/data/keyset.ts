import { sql, type Column, type SQL } from 'drizzle-orm';

/**
 * The rows after a keyset position in `(column, id)` order: a row-value comparison, which both
 * databases answer from a `(column, id)` index. The values are bound through their columns, so
 * a Date is stored as each dialect stores it (placeholders' values too, when they are filled).
 */
export function afterPosition(
  column: Column,
  id: Column,
  position: { value: unknown; id: unknown },
  descending: boolean,
): SQL {
  const value = sql.param(position.value, column);
  const key = sql.param(position.id, id);
  return descending
    ? sql`(${column}, ${id}) < (${value}, ${key})`
    : sql`(${column}, ${id}) > (${value}, ${key})`;
}
