import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { TITLES, type ProblemKind } from '../errors';
import { PROBLEM_BASE } from './problems';

/** What Node's HTTP parser refuses before Express sees a request, as the document's problems. */
const REFUSALS: Record<string, [number, ProblemKind, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'validation-error', 'The request headers are too large.'],
};
const FALLBACK: [number, ProblemKind, string] = [
  400,
  'validation-error',
  'The request is not valid HTTP.',
];

/**
 * Answers a request that Node could not parse (headers over 16 kB, malformed HTTP) with a problem
 * body like every other error, instead of Node's bare status line.
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) return socket.destroy();
    const [status, kind, detail] = REFUSALS[err.code ?? ''] ?? FALLBACK;
    const requestId = randomUUID();
    const body = JSON.stringify({
      type: PROBLEM_BASE + kind,
      title: TITLES[kind],
      status,
      detail,
      requestId,
    });
    socket.end(
      `HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
        'Content-Type: application/problem+json\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Request-Id: ${requestId}\r\n` +
        'Connection: close\r\n\r\n' +
        body,
    );
  });
}
