// Applies pending migrations to the database DATABASE_URL names (the server also does this at start).
import 'dotenv/config';
import { loadConfig } from '../src/config';
import { openDatabase } from '../src/data/database';

async function main() {
  const config = loadConfig();
  const database = openDatabase(config.databaseUrl);
  try {
    await database.migrate();
    console.log(`Migrations applied (${database.dialect}).`);
  } finally {
    await database.close();
  }
}

main().catch((err: Error) => {
  console.error(`Migration failed: ${err.message}`);
  process.exit(1);
});
