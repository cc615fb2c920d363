import type { Express, Request } from 'express';

const opaque = (tag: string) => tag.trim().replace(/^W\//, '');

/**
 * `If-None-Match` against the response's ETag, by RFC 9110's weak comparison (§13.1.2). Express's
 * own check (the `fresh` package) treats `Cache-Control: no-cache` in a request as "always stale",
 * but browsers' fetch adds exactly that beside a hand-set If-None-Match: the directive is for
 * caches on the way (RFC 9111 §5.2.1.4), not for the origin's precondition.
 */
function isFresh(req: Request): boolean {
  const res = req.res;
  if (!res || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
  const { statusCode } = res;
  if (!((statusCode >= 200 && statusCode < 300) || statusCode === 304)) return false;
  const ifNoneMatch = req.get('If-None-Match');
  const etag = res.get('ETag');
  if (!ifNoneMatch || !etag) return false;
  if (ifNoneMatch.trim() === '*') return true;
  return ifNoneMatch.split(',').some((tag) => opaque(tag) === opaque(etag));
}

/** Makes `req.fresh`, which `res.send` consults to answer 304, follow RFC 9110 alone. */
export function answerIfNoneMatch(app: Express): void {
  Object.defineProperty(app.request, 'fresh', {
    configurable: true,
    enumerable: true,
    get(this: Request) {
      return isFresh(this);
    },
  });
}
