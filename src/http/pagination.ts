import type { Request } from 'express';

/**
 * The `Link: <...>; rel="next"` header of a list page: the same request with the next cursor.
 * Empty when there is no next page.
 */
export function nextPageHeaders(req: Request, nextCursor: string | null): Record<string, string> {
  if (nextCursor === null) return {};
  const url = new URL(req.originalUrl, 'http://placeholder');
  url.searchParams.set('cursor', nextCursor);
  return { Link: `<${url.pathname}${url.search}>; rel="next"` };
}
