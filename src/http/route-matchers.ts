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

function cachedPathToRegexp(...args: Parameters<Compile>): ReturnType<Compile> {
  const [path, options] = args;
  if (typeof path !== 'string') return compile(...args);
  const key = `${path}\u0000${JSON.stringify(options ?? {})}`;
  let matcher = compiled.get(key);
  if (!matcher) compiled.set(key, (matcher = compile(...args)));
  return matcher;
}

Object.assign(pathToRegexpModule, { pathToRegexp: cachedPathToRegexp });
