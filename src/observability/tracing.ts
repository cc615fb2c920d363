// The server's first import. The instrumentations patch http, express and pg as they are
// required, so the SDK must be running before any of them is loaded; and the switch may be in
// .env, so .env is read here, not later.
import 'dotenv/config';
import type { TracingSdk } from './tracing-sdk';

/**
 * Traces are on when an OTLP endpoint is given (`OTEL_EXPORTER_OTLP_ENDPOINT`, or the traces-only
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) and `OTEL_SDK_DISABLED` does not turn them off.
 */
function tracingWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  return Boolean(endpoint?.trim()) && env.OTEL_SDK_DISABLED?.trim().toLowerCase() !== 'true';
}

/** A bad endpoint stops the process with one line naming it, as every other setting does. */
function checkEndpoints(env: NodeJS.ProcessEnv): void {
  for (const name of ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']) {
    const value = env[name]?.trim();
    if (!value) continue;
    const protocol = URL.canParse(value) ? new URL(value).protocol : undefined;
    if (protocol === 'http:' || protocol === 'https:') continue;
    process.stderr.write(`Configuration error: ${name}: must be an http(s) URL, got "${value}"\n`);
    process.exit(1);
  }
}

let sdk: TracingSdk | undefined;
if (tracingWanted()) {
  checkEndpoints(process.env);
  // Required only here: with tracing off, not one module of the SDK is loaded. A dynamic import()
  // would not do, as it resolves after the server's other imports have run.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startTracing } = require('./tracing-sdk') as typeof import('./tracing-sdk');
  sdk = startTracing();
}

/**
 * Sends the spans still buffered and stops the SDK; waits at most `ms`, so that an unreachable
 * collector cannot hold the process past its drain. Nothing to do when tracing is off.
 */
export async function stopTracing(ms = 5_000): Promise<void> {
  if (!sdk) return;
  const running = sdk;
  sdk = undefined;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  await Promise.race([running.shutdown().catch(() => undefined), timeout]);
  clearTimeout(timer);
}
