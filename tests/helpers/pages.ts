import type { TestApp } from './app';
import { bearer, type TestUser } from './users';

/**
 * Every page of a list, from `url` on, following `Link` and checking at each page that it
 * agrees with `nextCursor` (and is absent on the last page).
 */
export async function walkPages<T>(
  t: TestApp,
  url: string,
  as?: TestUser,
): Promise<{ items: T[]; pages: number }> {
  const seen: T[] = [];
  let next: string | undefined = url;
  let pages = 0;
  while (next) {
    const req = t.request().get(next);
    const res = await (as ? req.set(bearer(as)) : req);
    expect(res.status).toBe(200);
    seen.push(...(res.body.items as T[]));
    pages += 1;
    const link = res.headers.link as string | undefined;
    if (res.body.nextCursor === null) {
      expect(link).toBeUndefined();
      next = undefined;
    } else {
      const target = /^<([^>]+)>; rel="next"$/.exec(link ?? '')?.[1];
      expect(target).toBeDefined();
      expect(new URL(target ?? '', 'http://x').searchParams.get('cursor')).toBe(
        res.body.nextCursor,
      );
      next = target;
    }
  }
  return { items: seen, pages };
}
