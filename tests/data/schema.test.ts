import { getTableConfig as pgTableConfig } from 'drizzle-orm/pg-core';
import { getTableConfig as sqliteTableConfig } from 'drizzle-orm/sqlite-core';
import * as pg from '../../src/data/schema/pg';
import * as sqlite from '../../src/data/schema/sqlite';

// One set of data modules serves both databases, so both schemas must have one shape.
describe('the PostgreSQL and SQLite schemas', () => {
  it('have the same tables', () => {
    expect(Object.keys(sqlite).sort()).toEqual(Object.keys(pg).sort());
  });

  it.each(Object.keys(pg))('%s has the same columns, nullability, indexes and keys', (name) => {
    const p = pgTableConfig(pg[name as keyof typeof pg]);
    const s = sqliteTableConfig(sqlite[name as keyof typeof sqlite]);
    const columns = (cols: { name: string; notNull: boolean; primary: boolean }[]) =>
      cols.map((c) => [c.name, c.notNull, c.primary]).sort();
    expect(s.name).toBe(p.name);
    expect(columns(s.columns)).toEqual(columns(p.columns));
    const indexes = (list: { config: { name?: string; unique: boolean } }[]) =>
      list.map((i) => [i.config.name, i.config.unique]).sort();
    expect(indexes(s.indexes)).toEqual(indexes(p.indexes));
    expect(s.foreignKeys.length).toBe(p.foreignKeys.length);
  });
});
