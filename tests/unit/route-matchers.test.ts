import { createRequire } from 'node:module';
import '../../src/http/route-matchers';

// The module object the validator calls, as route-matchers.ts patches it.
const { pathToRegexp } = createRequire(__filename)(
  'path-to-regexp',
) as typeof import('path-to-regexp');

describe('the path-to-regexp matchers kept for the validator', () => {
  it('compiles a route once for the options the validator passes', () => {
    const first = pathToRegexp('/api/v1/courses/:courseId', { sensitive: false, strict: false });
    const again = pathToRegexp('/api/v1/courses/:courseId', { sensitive: false, strict: false });
    expect(again).toBe(first);
    expect(first.regexp.exec('/api/v1/courses/abc')?.[1]).toBe('abc');
  });

  it('keeps matchers apart by every option that changes them', () => {
    const path = '/api/v1/users/:userId';
    const loose = pathToRegexp(path, { sensitive: false, strict: false });
    const sensitive = pathToRegexp(path, { sensitive: true, strict: false });
    const unset = pathToRegexp(path, {});
    expect(sensitive).not.toBe(loose);
    expect(unset).not.toBe(loose);
    expect(loose.regexp.test('/API/v1/users/x')).toBe(true);
    expect(sensitive.regexp.test('/API/v1/users/x')).toBe(false);
  });

  it('compiles afresh, uncached, for options it does not know', () => {
    const options = { delimiter: '.', sensitive: false };
    const first = pathToRegexp('/files/:name', options);
    expect(pathToRegexp('/files/:name', options)).not.toBe(first);
  });
});
