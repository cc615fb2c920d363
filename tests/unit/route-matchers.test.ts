import { createRequire } from 'node:module';
import '../../src/http/route-matchers';

// The module object the validator calls, as route-matchers.ts patches it.
const { pathToRegexp } = createRequire(__filename)(
  'path-to-regexp',
) as typeof import('path-to-regexp');

// The validator passes `strict`, which path-to-regexp 8 no longer types (nor reads).
const compile = (path: string, options: Record<string, unknown>) =>
  pathToRegexp(path, options as Parameters<typeof pathToRegexp>[1]);

describe('the path-to-regexp matchers kept for the validator', () => {
  it('compiles a route once for the options the validator passes', () => {
    const first = compile('/api/v1/courses/:courseId', { sensitive: false, strict: false });
    const again = compile('/api/v1/courses/:courseId', { sensitive: false, strict: false });
    expect(again).toBe(first);
    expect(first.regexp.exec('/api/v1/courses/abc')?.[1]).toBe('abc');
  });

  it('keeps matchers apart by every option that changes them', () => {
    const path = '/api/v1/users/:userId';
    const loose = compile(path, { sensitive: false, strict: false });
    const sensitive = compile(path, { sensitive: true, strict: false });
    const unset = compile(path, {});
    expect(sensitive).not.toBe(loose);
    expect(unset).not.toBe(loose);
    expect(loose.regexp.test('/API/v1/users/x')).toBe(true);
    expect(sensitive.regexp.test('/API/v1/users/x')).toBe(false);
  });

  it('compiles afresh, uncached, for options it does not know', () => {
    const options = { delimiter: '.', sensitive: false };
    const first = compile('/files/:name', options);
    expect(compile('/files/:name', options)).not.toBe(first);
  });
});
