import type { ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import helmet, { type HelmetOptions } from 'helmet';
import onHeaders from 'on-headers';

/**
 * The headers helmet sets for `options`. They do not depend on the request, so helmet runs
 * once, against a response that only records them.
 */
function helmetHeaders(options: HelmetOptions): [string, string][] {
  const headers: [string, string][] = [];
  const recorder = {
    setHeader: (name: string, value: unknown) => headers.push([name, String(value)]),
    removeHeader: () => undefined,
  };
  helmet(options)({} as never, recorder as never, () => undefined);
  return headers;
}

/**
 * helmet's headers on every response, added as its headers are written rather than as the
 * request arrives. Headers set on arrival live as long as the request, across its database
 * round trips, so under load V8 promoted them to the old generation: with their storage they
 * were over a third of what the server promoted, and the old generation grew 5 MB a second
 * under the by-id load against 0.4 once they were added late. A header that the route set
 * itself (the docs page's own policy) is kept.
 */
export function securityHeaders(options: HelmetOptions): RequestHandler {
  const headers = helmetHeaders(options);
  function addMissing(this: ServerResponse) {
    for (const [name, value] of headers) if (!this.hasHeader(name)) this.setHeader(name, value);
  }
  return (_req, res, next) => {
    onHeaders(res, addMissing);
    next();
  };
}
