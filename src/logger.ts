import { AsyncLocalStorage } from 'node:async_hooks';
import { trace } from '@opentelemetry/api';
import winston from 'winston';

/** Carries the request id to every log line written while serving that request. */
export const requestContext = new AsyncLocalStorage<{ requestId: string }>();

const SECRET_KEY = /authorization|cookie|password|secret|token|hash/i;
const REDACTED = '[redacted]';

/** Deep copy with every secret-looking key replaced, so no log line carries a credential. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return value;
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] = SECRET_KEY.test(key) ? REDACTED : redact(item, depth + 1);
  }
  return out;
}

const addContext = winston.format((info) => {
  const context = requestContext.getStore();
  if (context && info.requestId === undefined) info.requestId = context.requestId;
  // The span active where the line is written: the request's, carried by OpenTelemetry's own
  // async context as the request id is by ours. None when tracing is off.
  const span = trace.getActiveSpan()?.spanContext();
  if (span && trace.isSpanContextValid(span) && info.traceId === undefined) {
    info.traceId = span.traceId;
    info.spanId = span.spanId;
  }
  for (const key of Object.keys(info)) {
    if (SECRET_KEY.test(key)) info[key] = REDACTED;
    else if (key !== 'level' && key !== 'message') info[key] = redact(info[key]);
  }
  return info;
});

export function createLogger(level: string, json: boolean): winston.Logger {
  const readable = winston.format.printf(({ level: lvl, message, timestamp, ...meta }) => {
    const { stack, ...rest } = meta;
    const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
    return `${String(timestamp)} ${lvl} ${String(message)}${extra}${stack ? `\n${String(stack)}` : ''}`;
  });
  return winston.createLogger({
    level,
    format: winston.format.combine(
      addContext(),
      winston.format.errors({ stack: true }),
      winston.format.timestamp(),
      json
        ? winston.format.json()
        : process.stdout.isTTY
          ? winston.format.combine(winston.format.colorize(), readable)
          : readable,
    ),
    transports: [new winston.transports.Console()],
  });
}

/** The process-wide logger; `configureLogger` sets it up from the configuration at start. */
export let logger: winston.Logger = createLogger(
  process.env.LOG_LEVEL ?? 'info',
  process.env.NODE_ENV === 'production',
);

export function configureLogger(level: string, json: boolean): void {
  logger = createLogger(level, json);
}
