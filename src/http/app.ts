import cors from 'cors';
import express, { type Express } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import './route-matchers';
import { HTTP_METHODS, openapiDocument } from '../contract';
import type { Services } from '../services';
import { problems } from '../errors';
import { answerIfNoneMatch } from './conditional';
import { rejectNulCharacters } from './control-characters';
import { mountDocs } from './docs';
import { rejectNonFiniteQueryNumbers } from './finite-numbers';
import { handlers as defaultHandlers } from './handlers';
import { digestBody, idempotentOperations } from './idempotency';
import { verifyDepth } from './json-depth';
import { noStoreAsDocumented } from './no-store';
import type { HandlerMap } from './operations';
import { problemHandler } from './problems';
import { mountRateLimits } from './rate-limit';
import { accessLog, requestId } from './request-context';
import { recordRequests } from './request-metrics';
import { bindOperations, toExpressPath } from './routes';
import { bearerAuthHandler } from './security';
import { securityHeaders } from './security-headers';

const BODY_LIMIT = '100kb';

// Paths compare without regard to case, as Express and the validator route them.
const API_PATHS = /^\/api\/v1(\/|$)/i;
const DOCUMENT = /^\/api\/v1\/openapi\./i;

/** body-parser's hook on every JSON body, before it is parsed. */
const verify: typeof verifyDepth = (req, res, body) => {
  verifyDepth(req, res, body);
  digestBody(req, res, body);
};

/** The whole HTTP pipeline, in the order a request walks it. */
export function createApp(services: Services, handlers: HandlerMap = defaultHandlers): Express {
  const { config } = services;
  const app = express();
  app.disable('x-powered-by');
  // Express's own ETags (on answers whose handler sets none) are strong, like the versions
  // course handlers send: one kind of tag, compared one way.
  app.set('etag', 'strong');
  answerIfNoneMatch(app);
  app.set('trust proxy', config.trustProxy);

  app.use(recordRequests(services.metrics, openapiDocument), requestId, accessLog);
  app.use(
    securityHeaders({
      // An API returns data, not pages: nothing may be loaded or framed. /docs sets its own.
      contentSecurityPolicy: {
        useDefaults: false,
        directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
      },
    }),
  );
  if (config.corsOrigins.length > 0) {
    app.use(
      cors({
        origin: config.corsOrigins,
        exposedHeaders: [
          'X-Request-Id',
          'Location',
          'Link',
          'ETag',
          'Retry-After',
          'RateLimit-Limit',
          'RateLimit-Remaining',
          'RateLimit-Reset',
          'Idempotent-Replayed',
        ],
        maxAge: 600,
      }),
    );
  }

  mountRateLimits(app, services, openapiDocument);
  mountDocs(app);
  // Root-level checks of the path rather than middleware mounted on paths: Express rewrites the
  // URL of every request that enters a mounted middleware, and every later layer parses it anew.
  app.use((req, res, next) => {
    // Until migrations have run, nothing but the health checks and the document can answer.
    if (services.health.isReady() || !API_PATHS.test(req.path) || DOCUMENT.test(req.path)) {
      return next();
    }
    next(problems.unavailable('The service is starting.'));
  });

  // HEAD is GET without a body (RFC 9110), and load balancers probe with it. Node decided when the
  // request arrived that a HEAD response carries no body, so it is validated and routed as GET.
  app.use((req, _res, next) => {
    if (req.method === 'HEAD') req.method = 'GET';
    next();
  });
  // Operations that take larger bodies say so in the document (x-max-body-bytes); body-parser
  // parses a body once, so the general parser below leaves theirs alone.
  for (const [path, item] of Object.entries(openapiDocument.paths)) {
    for (const method of HTTP_METHODS) {
      const limit = item[method]?.['x-max-body-bytes'];
      if (limit) app[method](toExpressPath(path), express.json({ limit, verify }));
    }
  }
  app.use(express.json({ limit: BODY_LIMIT, verify }));
  app.use(rejectNulCharacters);
  app.use(
    OpenApiValidator.middleware({
      apiSpec: structuredClone(openapiDocument) as never,
      validateRequests: { allErrors: true, allowUnknownQueryParameters: false },
      validateResponses: true,
      // "full": the formats as strict clients and SDK validators read the published document
      // (ajv's "fast" email, say, takes `someone@invalid`, which they refuse).
      validateFormats: true,
      ajvFormats: { mode: 'full' },
      validateSecurity: { handlers: { bearerAuth: bearerAuthHandler(services) } },
      // The document takes JSON bodies only: no multipart parser on the way of every request
      // (a multipart body is refused as a 415 like any other media type the operation lacks).
      fileUploader: false,
    }),
  );
  app.use(rejectNonFiniteQueryNumbers);
  app.use(noStoreAsDocumented(openapiDocument));
  // After the validator (the key's format checked, the caller known), before the operations.
  app.use(idempotentOperations(openapiDocument, services));
  app.use(bindOperations(openapiDocument, handlers, services));
  app.use(problemHandler);
  return app;
}
