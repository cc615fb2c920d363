import { createRequire } from 'node:module';

// The module object itself, which the validator reads `pathToRegexp` from on every call (an ES
// import would give a copy of it under tsx).
const pathToRegexpModule = createRequire(__filename)(
  'path-to-regexp',
) as typeof import('path-to-regexp');

/**
 * express-openapi-validator (5.6) compiles a path-to-regexp matcher for every route of the
 * document on every request, to find the request's operation; compiling costs far more than
 * matching. Until it caches them itself (upstream PR cdimascio/express-openapi-validator#1217),
 * compiled matchers are kept here: a matcher depends only on the route and its options, and is
 * never mutated by its users (the validator and Express's router only read it).
 */
type Compile = typeof pathToRegexpModule.pathToRegexp;
const compile: Compile = pathToRegexpModule.pathToRegexp;

/** Matchers by path, then by options (`optionsKey`). */
const compiled = new Map<string, Map<number, ReturnType<Compile>>>();

/** Where each boolean option its callers pass sits in an options key: two bits each. */
const OPTION_BITS = new Map([
  ['sensitive', 0],
  ['strict', 2],
  ['end', 4],
  ['trailing', 6],
]);

/**
 * The options as a small number (each option unset, false or true); undefined for any other
 * option, which is then compiled afresh, uncached. The validator makes a key for every route
 * on every request, so making one allocates nothing.
 */
function optionsKey(options: Record<string, unknown>): number | undefined {
  let key = 0;
  for (const name in options) {
    const shift = OPTION_BITS.get(name);
    if (shift === undefined) return undefined;
    const value = options[name];
    if (value !== undefined) key |= (value ? 2 : 1) << shift;
  }
  return key;
}

function cachedPathToRegexp(...args: Parameters<Compile>): ReturnType<Compile> {
  const [path, options = {}] = args;
  const key = typeof path === 'string' ? optionsKey(options as Record<string, unknown>) : undefined;
  if (key === undefined) return compile(...args);
  let byOptions = compiled.get(path as string);
  if (!byOptions) compiled.set(path as string, (byOptions = new Map()));
  let matcher = byOptions.get(key);
  if (!matcher) byOptions.set(key, (matcher = compile(...args)));
  return matcher;
}

Object.assign(pathToRegexpModule, { pathToRegexp: cachedPathToRegexp });
