import type { IncomingMessage } from 'node:http';
import { problems } from '../errors';

/** The deepest nesting of arrays and objects a body may have. */
export const MAX_JSON_DEPTH = 32;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPENERS = new Set([0x5b, 0x7b]); // [ {
const CLOSERS = new Set([0x5d, 0x7d]); // ] }

/**
 * Whether a JSON text nests deeper than `limit`, read in one pass over its bytes before it is
 * parsed: no recursion, so no body can overflow the stack here or in anything that walks the
 * parsed value later (the validator, our own checks).
 */
export function nestsDeeperThan(text: Uint8Array, limit: number): boolean {
  let depth = 0;
  let inString = false;
  let escaped = false;
  for (const byte of text) {
    if (inString) {
      if (escaped) escaped = false;
      else if (byte === BACKSLASH) escaped = true;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) inString = true;
    else if (OPENERS.has(byte)) {
      if (++depth > limit) return true;
    } else if (CLOSERS.has(byte)) depth--;
  }
  return false;
}

/** body-parser's `verify` hook: refuses a body nested too deep before it is parsed. */
export function verifyDepth(_req: IncomingMessage, _res: unknown, body: Buffer): void {
  if (nestsDeeperThan(body, MAX_JSON_DEPTH)) {
    throw problems.badRequest(
      `The body nests arrays or objects deeper than ${MAX_JSON_DEPTH} levels.`,
    );
  }
}
