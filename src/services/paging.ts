import bundled from '../generated/openapi.json';
import type { CursorCodec, CursorKind, CursorValues, Decoded } from './cursor';

/** The page size when a request names none: the default of the document's LimitQuery. */
export const DEFAULT_PAGE_SIZE: number = bundled.components.parameters.LimitQuery.schema.default;

/** A list operation's paging parameters, as the document declares them. */
export interface PageRequest {
  limit?: number;
  cursor?: string;
}

export interface Page<R> {
  items: R[];
  nextCursor: string | null;
}

export interface Listing<R, K extends readonly CursorKind[]> {
  /** The listing and its filters (`listingScope`): a cursor is valid only there. */
  scope: string;
  request: PageRequest;
  /** The types of the keyset position's values, in order. */
  kinds: K;
  /** Up to `limit` rows after the position (from the start without one), in keyset order. */
  fetch: (after: Decoded<K> | undefined, limit: number) => Promise<R[]>;
  /** The keyset position of a row: where the next page starts when it is the last of this one. */
  keyOf: (row: R) => CursorValues;
}

/**
 * One page of a keyset listing: the cursor decoded (a 400 when it was issued for another
 * listing), one row more than the page fetched to learn whether another page follows, and the
 * next cursor signed.
 */
export async function fetchPage<R, K extends readonly CursorKind[]>(
  cursors: CursorCodec,
  listing: Listing<R, K>,
): Promise<Page<R>> {
  const { scope, request } = listing;
  const limit = request.limit ?? DEFAULT_PAGE_SIZE;
  const after = request.cursor ? cursors.decode(scope, request.cursor, listing.kinds) : undefined;
  const rows = await listing.fetch(after, limit + 1);
  const page = cursors.page(scope, rows, limit, listing.keyOf);
  // A title search may stop short of a whole page (data/search.ts): the next page starts where
  // it stopped.
  const { resumeAfter } = rows as R[] & { resumeAfter?: R };
  if (page.nextCursor !== null || resumeAfter === undefined) return page;
  return { items: page.items, nextCursor: cursors.encode(scope, listing.keyOf(resumeAfter)) };
}
