import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A span as OTLP/HTTP JSON carries it, with the name of the instrumentation that made it. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  /** OTLP's SpanKind: 1 internal, 2 server, 3 client. */
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: { key: string; value: Record<string, unknown> }[];
  scope: string;
}

export const SERVER = 2;

interface ExportRequest {
  resourceSpans?: {
    scopeSpans?: { scope?: { name?: string }; spans?: Omit<ReceivedSpan, 'scope'>[] }[];
  }[];
}

/** An attribute's value, whatever its OTLP type (`stringValue`, `intValue`...). */
export function attribute(span: ReceivedSpan, key: string): unknown {
  const found = span.attributes.find((a) => a.key === key);
  if (!found) return undefined;
  const [value] = Object.values(found.value);
  return typeof value === 'string' && 'intValue' in found.value ? Number(value) : value;
}

/** Whether `span` lies under the span `ancestorId` in `spans` (its trace). */
export function descendsFrom(span: ReceivedSpan, ancestorId: string, spans: ReceivedSpan[]) {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  for (let parent = span.parentSpanId; parent; parent = byId.get(parent)?.parentSpanId) {
    if (parent === ancestorId) return true;
  }
  return false;
}

/**
 * A real OTLP/HTTP receiver on loopback, as a collector would be: it takes `POST /v1/traces` in
 * JSON and keeps every span. Anything else it is sent (metrics, logs) is kept aside in `others`.
 */
export async function startOtlpReceiver() {
  const spans: ReceivedSpan[] = [];
  const others: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const json = req.headers['content-type']?.startsWith('application/json');
      if (req.method !== 'POST' || req.url !== '/v1/traces' || !json) {
        others.push(`${req.method} ${req.url} ${req.headers['content-type']}`);
        res.writeHead(404).end();
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ExportRequest;
      for (const resource of body.resourceSpans ?? []) {
        for (const { scope, spans: received = [] } of resource.scopeSpans ?? []) {
          for (const span of received) spans.push({ ...span, scope: scope?.name ?? '' });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  /** The spans received so far once `ready` holds of them, waiting up to `ms` for it. */
  async function waitFor(ready: (spans: ReceivedSpan[]) => boolean, ms = 10_000) {
    const deadline = Date.now() + ms;
    while (!ready(spans)) {
      if (Date.now() > deadline) throw new Error(`the spans awaited did not arrive in ${ms} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return spans;
  }

  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    others,
    waitFor,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
