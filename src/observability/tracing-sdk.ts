import type { IncomingMessage } from 'node:http';
import { DiagLogLevel, ROOT_CONTEXT, context, diag, type DiagLogger } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { ExpressInstrumentation, ExpressLayerType } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { matchOf } from '../http/matched-operation';
import { logger } from '../logger';

/** What `startTracing` hands back: the one thing the server does with it at the end. */
export interface TracingSdk {
  shutdown(): Promise<void>;
}

const DEFAULT_SERVICE_NAME = 'opencourse-api';

/** The path template the validator matched (`/api/v1/courses/{courseId}`), as the access log. */
function documentedRoute(request: object): string | undefined {
  return matchOf(request)?.openApiRoute;
}

/**
 * The service name: OTEL_SERVICE_NAME, else a `service.name` in OTEL_RESOURCE_ATTRIBUTES (the
 * SDK reads both), else ours rather than the SDK's `unknown_service:node`.
 */
function serviceName(env: NodeJS.ProcessEnv): string | undefined {
  if (env.OTEL_SERVICE_NAME) return env.OTEL_SERVICE_NAME;
  if (/(^|,)\s*service\.name\s*=/.test(env.OTEL_RESOURCE_ATTRIBUTES ?? '')) return undefined;
  return DEFAULT_SERVICE_NAME;
}

/**
 * The SDK's own messages (a failed export, say) as log lines rather than silence. Written outside
 * any span: the trace ids of whatever request was active would be misleading on them.
 */
function toLog(level: 'error' | 'warn' | 'info' | 'debug' | 'verbose') {
  return (message: string, ...args: unknown[]) => {
    // The SDK's error handler hands an exception over as the JSON of its properties.
    let said = message;
    if (message.startsWith('{')) {
      try {
        const parsed = JSON.parse(message) as { message?: unknown };
        if (typeof parsed.message === 'string') said = parsed.message;
      } catch {
        // not JSON after all: said as it came
      }
    }
    const line = ['OpenTelemetry:', said, ...args.map(String)].join(' ');
    context.with(ROOT_CONTEXT, () => logger[level](line));
  };
}
const diagToLog: DiagLogger = {
  error: toLog('error'),
  warn: toLog('warn'),
  info: toLog('info'),
  debug: toLog('debug'),
  verbose: toLog('verbose'),
};

/** OTEL_LOG_LEVEL (`error`, `warn`, `info`, `debug`, `verbose`, `all`, `none`), warn by default. */
function diagLevel(env: NodeJS.ProcessEnv): DiagLogLevel {
  const name = env.OTEL_LOG_LEVEL?.trim().toUpperCase() as keyof typeof DiagLogLevel | undefined;
  return (name && DiagLogLevel[name]) ?? DiagLogLevel.WARN;
}

/**
 * Starts the OpenTelemetry SDK: spans of incoming and outgoing HTTP requests, Express and
 * PostgreSQL, sent over OTLP/HTTP (JSON) to the endpoint the standard OTEL_* variables name.
 * Loaded only when tracing is on (see tracing.ts); it must run before http, express and pg load.
 */
export function startTracing(env: NodeJS.ProcessEnv = process.env): TracingSdk {
  const sdk = new NodeSDK({
    serviceName: serviceName(env),
    traceExporter: new OTLPTraceExporter(),
    // Traces only: metrics are Prometheus's, and log lines go to stdout with their trace ids.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      new HttpInstrumentation({
        // Prometheus's scrapes of the metrics listener are not requests to the API.
        ignoreIncomingRequestHook: (request) => request.url?.split('?')[0] === '/metrics',
        // The instrumentation names a server span by its method, or by the Express route last
        // matched. Named here by the documented route instead, once the response is written, so
        // that requests the validator refused are named too. One that matched no operation keeps
        // its method alone (or an Express route: `GET /docs`), never its raw URL.
        applyCustomAttributesOnSpan(span, request) {
          const route = documentedRoute(request);
          if (route === undefined) return;
          span.updateName(`${(request as IncomingMessage).method ?? 'GET'} ${route}`);
          span.setAttribute('http.route', route);
        },
      }),
      new ExpressInstrumentation({
        // The pipeline is a dozen middlewares of microseconds each (request id, helmet, CORS,
        // limits, parser, validator, dispatch): a span apiece would bury the database spans
        // and move each log line's spanId off the request's span. Route handlers keep theirs.
        ignoreLayersType: [ExpressLayerType.MIDDLEWARE, ExpressLayerType.ROUTER],
      }),
      // Queries outside a request (migrations, the limit counters' flushes, LISTEN) make no traces
      // of their own; parameters are never recorded (enhancedDatabaseReporting stays off).
      new PgInstrumentation({ requireParentSpan: true }),
    ],
  });
  // After the SDK's constructor, which installs a console logger of its own for OTEL_LOG_LEVEL.
  diag.setLogger(diagToLog, { logLevel: diagLevel(env), suppressOverrideMessage: true });
  sdk.start();
  return sdk;
}
