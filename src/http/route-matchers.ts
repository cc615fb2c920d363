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
const compiled = new Map<string, ReturnType<Compile>>();

/** The options its callers pass; a call with any other is compiled afresh, uncached. */
const KNOWN = new Set(['sensitive', 'strict', 'end', 'trailing', 'delimiter']);

function cachedPathToRegexp(...args: Parameters<Compile>): ReturnType<Compile> {
  const [path, options = {}] = args;
  const named = options as Record<string, unknown>;
  if (typeof path !== 'string' || Object.keys(named).some((k) => !KNOWN.has(k))) {
    return compile(...args);
  }
  const key = `${path}\u0000${named.sensitive}\u0000${named.strict}\u0000${named.end}\u0000${named.trailing}\u0000${named.delimiter}`;
  let matcher = compiled.get(key);
  if (!matcher) compiled.set(key, (matcher = compile(...args)));
  return matcher;
}

Object.assign(pathToRegexpModule, { pathToRegexp: cachedPathToRegexp });
