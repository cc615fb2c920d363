// The load generator: one autocannon run in a process of its own, so that scripts/bench.ts can
// pin it to the core the servers are not on. Reads a LoadSpec from the JSON file named by
// argv[2] and prints a LoadResult as one JSON line on stdout.
//
// This file is transpiled on its own and run with plain node: it must import nothing relative.
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

/** One request shape; the generator cycles through them, one per request. */
export interface Variant {
  method: 'GET' | 'POST';
  path: string;
  token?: string;
  body?: string;
}

export interface LoadSpec {
  origin: string;
  connections: number;
  seconds: number;
  variants: Variant[];
  /** Distinct client addresses sent in X-Forwarded-For, one per request in turn. */
  clients: number;
}

export interface LoadResult {
  /** Every response, whatever its status. */
  requests: number;
  seconds: number;
  /** 2xx responses per second: a refusal is not a request served. */
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  /** Connection errors and timeouts: requests that got no answer at all. */
  errors: number;
  statusCodes: Record<string, number>;
}

/**
 * The k-th client: 10.x.y.z. The API counts its per-minute limit per address (behind
 * TRUST_PROXY=1, the last X-Forwarded-For entry), so spreading requests over many addresses makes
 * the load look like many clients, each well under the limit, while the limit is still counted.
 */
export function clientAddress(k: number): string {
  return `10.${(k >> 16) & 255}.${(k >> 8) & 255}.${k & 255}`;
}

export async function load(spec: LoadSpec): Promise<LoadResult> {
  // One counter for the whole process, so that connections do not repeat each other's requests.
  let next = Math.floor(Math.random() * spec.clients);
  const result = await autocannon({
    url: spec.origin,
    connections: spec.connections,
    duration: spec.seconds,
    requests: [
      {
        setupRequest: (request) => {
          const k = next++;
          const variant = spec.variants[k % spec.variants.length]!;
          const headers: Record<string, string> = {
            'x-forwarded-for': clientAddress(k % spec.clients),
          };
          if (variant.token) headers.authorization = `Bearer ${variant.token}`;
          if (variant.body !== undefined) headers['content-type'] = 'application/json';
          return {
            ...request,
            method: variant.method,
            path: variant.path,
            headers,
            body: variant.body,
          };
        },
      },
    ],
  });
  const statusCodes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) {
    statusCodes[code] = stat.count ?? 0;
  }
  return {
    requests: result.requests.total,
    seconds: result.duration,
    rps: result['2xx'] / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    statusCodes,
  };
}

if (require.main === module) {
  const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as LoadSpec;
  load(spec).then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
    (err: Error) => {
      process.stderr.write(`load generator failed: ${err.message}\n`);
      process.exit(1);
    },
  );
}
