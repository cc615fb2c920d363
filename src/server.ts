// First of all: when traces are on, http, express and pg must load already instrumented. It
// reads .env itself.
import { stopTracing } from './observability/tracing';
import type { Server } from 'node:http';
import { ConfigError, loadConfig, type Config } from './config';
import { openDatabase } from './data/database';
import { createApp } from './http/app';
import { answerClientErrors } from './http/client-errors';
import { settled } from './http/in-flight';
import { configureLogger, logger } from './logger';
import { serveMetrics } from './observability/metrics';
import { createServices, type Services } from './services';

const DRAIN_TIMEOUT_MS = 10_000;
const START_ATTEMPTS = 10;

function readConfig(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      // One line naming the variable, then stop: a misconfigured instance must not serve.
      process.stderr.write(`Configuration error: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Applies pending migrations (serialized between instances) and the start-up tasks, retrying with
 * back-off while the database is down. Meanwhile /health/ready answers 503.
 */
async function prepareDatabase(services: Services): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await services.database.migrate();
      await services.startup();
      services.health.markReady();
      logger.info('database ready', { dialect: services.database.dialect });
      return;
    } catch (err) {
      if (attempt >= START_ATTEMPTS) throw err;
      const delay = Math.min(500 * 2 ** (attempt - 1), 10_000);
      logger.warn(`database not ready (${(err as Error).message}); retrying in ${delay} ms`, {
        attempt,
      });
      await sleep(delay);
    }
  }
}

/**
 * Prometheus's endpoint on METRICS_PORT (0: none). An instance that cannot serve it stops: a
 * scrape of that port would otherwise read whichever process holds it.
 */
async function startMetrics(config: Config, services: Services): Promise<Server | undefined> {
  if (config.metricsPort === 0) return undefined;
  try {
    const server = await serveMetrics(services.metrics, config.metricsPort, config.host);
    logger.info(`metrics on http://${config.host}:${config.metricsPort}/metrics`);
    return server;
  } catch (err) {
    process.stderr.write(`Metrics unavailable (METRICS_PORT): ${(err as Error).message}\n`);
    process.exit(1);
  }
}

function drainOnSigterm(server: Server, services: Services, metricsServer?: Server): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal} received: draining requests in flight`);
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    const drained = Promise.all([closed, settled()]).then(() => true);
    const timeout = sleep(DRAIN_TIMEOUT_MS).then(() => false);
    void Promise.race([drained, timeout]).then(async (done) => {
      if (!done) {
        logger.warn('requests still in flight after 10 s; closing them');
        server.closeAllConnections();
      }
      // Scrapes went on during the drain; the metrics listener closes once it is over.
      metricsServer?.close();
      metricsServer?.closeAllConnections();
      // Pending emails go out and limiter stores close before the pool does.
      await services.close().catch(() => undefined);
      await services.database.close().catch(() => undefined);
      // The spans of the requests just drained are still buffered: they go out before the exit.
      await stopTracing();
      logger.info('stopped');
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

async function main(): Promise<void> {
  const config = readConfig();
  configureLogger(config.logLevel, config.isProduction || !process.stdout.isTTY);
  if (config.jwtSecretGenerated) {
    logger.warn('JWT_SECRET is not set: using a random secret, so tokens end with this process');
  }
  const database = openDatabase(config.databaseUrl);
  const services = createServices(config, database);
  const metricsServer = await startMetrics(config, services);
  const app = createApp(services);
  const server = app.listen(config.port, config.host, () => {
    logger.info(`OpenCourse listening on http://${config.host}:${config.port}`, {
      docs: `/docs`,
    });
  });
  answerClientErrors(server);
  drainOnSigterm(server, services, metricsServer);
  try {
    await prepareDatabase(services);
  } catch (err) {
    process.stderr.write(`Database unavailable, giving up: ${(err as Error).message}\n`);
    process.exit(1);
  }
  // Webhooks go out from every instance; SIGTERM stops it in services.close().
  services.webhookWorker.start();
}

void main();
