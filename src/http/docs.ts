import type { Express } from 'express';
import { openapiYaml } from '../contract';

const REDOC_SCRIPT = require.resolve('redoc/bundles/redoc.standalone.js');

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>OpenCourse API v1</title>
<style>body { margin: 0; padding: 0; }</style>
</head>
<body>
<redoc spec-url="/api/v1/openapi.json"></redoc>
<script src="/docs/redoc.standalone.js"></script>
</body>
</html>
`;

/**
 * The page may load only from this server: users run it behind firewalls, and the policy also
 * stops Redoc's logo and fonts from reaching a CDN.
 */
const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The Redoc page and the YAML twin of the document: served beside, not inside, the contract. */
export function mountDocs(app: Express): void {
  app.get('/docs', (_req, res) => {
    res.setHeader('Content-Security-Policy', DOCS_CSP);
    res.type('html').send(PAGE);
  });
  app.get('/docs/redoc.standalone.js', (_req, res) => {
    res.sendFile(REDOC_SCRIPT, { maxAge: '1d' });
  });
  app.get('/api/v1/openapi.yaml', (_req, res) => {
    res.type('application/yaml').send(openapiYaml());
  });
}
