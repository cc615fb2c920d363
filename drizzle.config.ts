import { defineConfig } from 'drizzle-kit';

// One configuration, two dialects: `npm run db:generate` runs drizzle-kit once for each.
const dialect = process.env.DB_DIALECT === 'sqlite' ? 'sqlite' : 'postgresql';

export default defineConfig({
  dialect,
  schema: dialect === 'sqlite' ? './src/data/schema/sqlite.ts' : './src/data/schema/pg.ts',
  out: dialect === 'sqlite' ? './drizzle/sqlite' : './drizzle/pg',
  strict: true,
});
