import { createHmac, timingSafeEqual } from 'node:crypto';
import { HttpProblem } from '../errors';

/** A keyset position: the sort column's value and the id, as they were on the last row. */
export type CursorValues = (string | number | null)[];

const invalidCursor = () =>
  new HttpProblem(400, 'validation-error', 'The cursor is not one this API issued.', {
    errors: [{ path: 'query.cursor', message: 'is not a valid cursor' }],
  });

/**
 * Opaque, tamper-safe cursors: the position as base64url JSON, signed with an HMAC, so a client
 * can neither read meaning into one nor forge one. `scope` ties a cursor to one listing and sort.
 */
export function createCursorCodec(secret: Uint8Array) {
  const sign = (data: string) =>
    createHmac('sha256', secret).update(data).digest('base64url').slice(0, 22);
  return {
    encode(scope: string, values: CursorValues): string {
      const data = Buffer.from(JSON.stringify([scope, ...values])).toString('base64url');
      return `${data}.${sign(data)}`;
    },
    /** The values of a cursor issued for `scope`; a 400 problem for anything else. */
    decode(scope: string, cursor: string): CursorValues {
      const [data, signature, extra] = cursor.split('.');
      if (!data || !signature || extra !== undefined) throw invalidCursor();
      const expected = Buffer.from(sign(data));
      const given = Buffer.from(signature);
      if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
        throw invalidCursor();
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(Buffer.from(data, 'base64url').toString('utf8'));
      } catch {
        throw invalidCursor();
      }
      if (!Array.isArray(parsed) || parsed[0] !== scope) throw invalidCursor();
      return parsed.slice(1) as CursorValues;
    },
  };
}

export type CursorCodec = ReturnType<typeof createCursorCodec>;
