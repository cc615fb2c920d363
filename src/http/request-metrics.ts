import type { RequestHandler } from 'express';
import { HTTP_METHODS, type OpenApiDocument } from '../contract';
import type { Metrics } from '../observability/metrics';
import { matchOf } from './matched-operation';

/** The operation of a request the document does not describe (an unknown path or method). */
export const UNKNOWN_OPERATION = 'unknown';
/** OpenTelemetry's value for a method outside the known set; here for any value out of range. */
export const OTHER = '_OTHER';

/** `2xx`, `4xx`...: the status as a label with at most five values. */
export function statusClass(status: number): string {
  return status >= 100 && status <= 599 ? `${Math.floor(status / 100)}xx` : OTHER;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The label values of a request, taken from the document alone so that no URL or header a client
 * sends can add a series: the operationId of the validator's match when there is one; else, for a
 * request answered before the validator (a rate limit, the readiness gate, the published document)
 * or one it found no operation for, the path matched against the document's templates; else
 * `unknown`. Methods other than the document's, HEAD (served as GET) and OPTIONS (CORS's
 * preflight) are `_OTHER`.
 */
export function requestLabeller(document: OpenApiDocument) {
  const byRoute = new Map<string, string>();
  const templates: { method: string; pattern: RegExp; operationId: string; params: number }[] = [];
  const methods = new Set(['HEAD', 'OPTIONS']);
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of HTTP_METHODS) {
      const operation = item[method];
      if (!operation) continue;
      const upper = method.toUpperCase();
      methods.add(upper);
      byRoute.set(`${upper} ${path}`, operation.operationId);
      const parts = path.split(/\{[^}]+\}/);
      templates.push({
        method: upper,
        // Express routes without strict routing, so a trailing slash matches as well.
        pattern: new RegExp(`^${parts.map(escapeRegExp).join('[^/]+')}/?$`),
        operationId: operation.operationId,
        params: parts.length - 1,
      });
    }
  }
  // A fixed segment wins over a parameter: /users/me is not /users/{userId}.
  templates.sort((a, b) => a.params - b.params);

  return {
    method: (method: string): string => (methods.has(method) ? method : OTHER),
    /** `route` is the validator's match (the document's path), `url` the request's target. */
    operation(method: string, route: string | undefined, url: string): string {
      const asRouted = method === 'HEAD' ? 'GET' : method;
      const matched = route === undefined ? undefined : byRoute.get(`${asRouted} ${route}`);
      if (matched) return matched;
      const path = url.split('?', 1)[0] ?? '';
      const template = templates.find((t) => t.method === asRouted && t.pattern.test(path));
      return template?.operationId ?? UNKNOWN_OPERATION;
    },
  };
}

/** Observes every request's duration when its response has been sent. */
export function recordRequests(metrics: Metrics, document: OpenApiDocument): RequestHandler {
  const labeller = requestLabeller(document);
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    // Taken now: HEAD is rewritten to GET further down the pipeline.
    const method = req.method;
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = matchOf(req)?.openApiRoute;
      metrics.requestDuration.observe(
        {
          operation_id: labeller.operation(method, route, req.originalUrl),
          http_request_method: labeller.method(method),
          http_response_status_class: statusClass(res.statusCode),
        },
        seconds,
      );
    });
    next();
  };
}
