import { createHmac, createSecretKey, hash, timingSafeEqual } from 'node:crypto';
import { HttpProblem } from '../errors';

/** A keyset position: the sort column's value and the id, as they were on the last row. */
export type CursorValues = (string | number)[];

/** The type of one value in a keyset position, checked when a cursor is decoded. */
export type CursorKind = 'string' | 'number';

/**
 * The scope of one listing with its filters and sort: a cursor is valid only where it was
 * issued, so reusing it under other filters is a 400 rather than a page of something else. The
 * filters are hashed to keep cursors short whatever `q` holds.
 */
export function listingScope(listing: string, filters: Record<string, unknown>): string {
  const defined = Object.entries(filters)
    .filter(([, value]) => value !== undefined)
    .sort(([a], [b]) => a.localeCompare(b));
  const digest = hash('sha256', JSON.stringify(defined), 'base64url');
  return `${listing}:${digest.slice(0, 16)}`;
}
export type Decoded<K extends readonly CursorKind[]> = {
  [I in keyof K]: K[I] extends 'number' ? number : string;
};

const invalidCursor = () =>
  new HttpProblem(400, 'validation-error', 'The cursor is not one this API issued.', {
    errors: [{ path: 'query.cursor', message: 'is not a valid cursor' }],
  });

/**
 * Tamper-safe cursors: the position as base64url JSON, signed with an HMAC, so a client cannot
 * forge one (they are opaque by contract, not encrypted). `scope` ties a cursor to one listing.
 */
export function createCursorCodec(secret: Uint8Array) {
  // A key of its own, derived from the secret, so cursors and tokens never share a key.
  // A KeyObject, made once: an HMAC keyed with raw bytes imports them afresh on every call.
  const key = createSecretKey(
    createHmac('sha256', secret).update('opencourse cursor key').digest(),
  );
  const sign = (data: string) =>
    createHmac('sha256', key).update(data).digest('base64url').slice(0, 22);
  const encode = (scope: string, values: CursorValues): string => {
    const data = Buffer.from(JSON.stringify([scope, ...values])).toString('base64url');
    return `${data}.${sign(data)}`;
  };
  return {
    encode,
    /**
     * A page from rows fetched with `limit + 1`: the first `limit` rows, and a cursor after the
     * last of them when the extra row shows there is more.
     */
    page<R>(scope: string, rows: R[], limit: number, positionOf: (row: R) => CursorValues) {
      const items = rows.slice(0, limit);
      const last = items.at(-1);
      const more = rows.length > limit && last !== undefined;
      return { items, nextCursor: more ? encode(scope, positionOf(last)) : null };
    },
    /**
     * The values of a cursor issued for `scope`, of the `kinds` given; a 400 problem for anything
     * else.
     */
    decode<K extends readonly CursorKind[]>(scope: string, cursor: string, kinds: K): Decoded<K> {
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
      const values = parsed.slice(1);
      if (values.length !== kinds.length || values.some((v, i) => typeof v !== kinds[i])) {
        throw invalidCursor();
      }
      return values as Decoded<K>;
    },
  };
}

export type CursorCodec = ReturnType<typeof createCursorCodec>;
