// Creates a verified, active admin by hand:
//   npm run admin:create -- --email a@b.c --password '...' [--name 'Ada']
// or with ADMIN_EMAIL / ADMIN_PASSWORD in the environment. Applies pending migrations first.
import 'dotenv/config';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config';
import { openDatabase } from '../src/data/database';
import { logger } from '../src/logger';
import { createServices } from '../src/services';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { email: { type: 'string' }, password: { type: 'string' }, name: { type: 'string' } },
  });
  const config = loadConfig({
    ...process.env,
    ...(values.email ? { ADMIN_EMAIL: values.email } : {}),
    ...(values.password ? { ADMIN_PASSWORD: values.password } : {}),
  });
  if (!config.adminEmail || !config.adminPassword) {
    console.error('create-admin: give --email and --password (or ADMIN_EMAIL and ADMIN_PASSWORD).');
    return 2;
  }
  logger.silent = true;
  const database = openDatabase(config.databaseUrl);
  const services = createServices(config, database);
  try {
    await database.migrate();
    const outcome = await services.users.ensureAdmin({
      email: config.adminEmail,
      password: config.adminPassword,
      name: values.name,
    });
    if (outcome === 'exists') {
      console.error(
        `create-admin: an account with ${config.adminEmail} already exists; nothing changed.`,
      );
      return 1;
    }
    console.log(`create-admin: admin ${config.adminEmail} created.`);
    return 0;
  } finally {
    await services.close();
    await database.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`create-admin failed: ${err.message}`);
    process.exit(1);
  },
);
