import { createApp } from '../../src/http/app';
import { handlers } from '../../src/http/handlers';
import supertest from 'supertest';
import { describeEachDatabase } from '../helpers/app';

const PROBLEM = /^application\/problem\+json/;

describeEachDatabase('the HTTP pipeline', (current) => {
  const api = () => current().request();

  describe('X-Request-Id', () => {
    it('echoes a well-formed client id', async () => {
      const res = await api().get('/health/live').set('X-Request-Id', 'abc.DEF_123-x');
      expect(res.headers['x-request-id']).toBe('abc.DEF_123-x');
    });

    it.each(['', 'has space', 'x'.repeat(129), 'semi;colon'])(
      'replaces %j with a new id',
      async (id) => {
        const res = await api().get('/health/live').set('X-Request-Id', id);
        expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      },
    );

    it('is carried in problem bodies', async () => {
      const res = await api().get('/api/v1/nowhere').set('X-Request-Id', 'trace-1');
      expect(res.body.requestId).toBe('trace-1');
    });
  });

  // Added as the headers are written (security-headers.ts): answers, problems, empty and 304s.
  it.each([
    ['an answer', () => api().get('/health/live'), 200],
    ['a problem', () => api().get('/api/v1/nowhere'), 404],
    ['a refused body', () => api().post('/api/v1/auth/login').type('json').send('{"email":'), 400],
    ['a 304', () => api().get('/api/v1/openapi.json').set('If-None-Match', '*'), 304],
  ])('sends security headers and no X-Powered-By on %s', async (_what, send, status) => {
    const res = await send();
    expect(res.status).toBe(status);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(res.headers['strict-transport-security']).toContain('max-age=');
    expect(res.headers['content-security-policy']).toBe(
      "default-src 'none';frame-ancestors 'none'",
    );
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  describe('errors are problem details', () => {
    it('404 for an unknown path', async () => {
      const res = await api().get('/api/v1/nowhere');
      expect(res.status).toBe(404);
      expect(res.headers['content-type']).toMatch(PROBLEM);
      expect(res.body).toMatchObject({
        type: 'https://opencourse.dev/problems/not-found',
        title: 'Not found',
        status: 404,
        instance: '/api/v1/nowhere',
      });
    });

    it('405 for a wrong method on a known path', async () => {
      const res = await api().put('/health/live');
      expect(res.status).toBe(405);
      expect(res.body.type).toBe('https://opencourse.dev/problems/method-not-allowed');
    });

    it('400 for malformed JSON, never a 500', async () => {
      const res = await api()
        .post('/api/v1/auth/login')
        .set('Content-Type', 'application/json')
        .send('{"email": "a@example.com",');
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(PROBLEM);
      expect(res.body.type).toBe('https://opencourse.dev/problems/validation-error');
      expect(res.body.detail).toBe('The body is not valid JSON, or not a JSON object.');
    });

    it('415 for a body that is not JSON', async () => {
      const res = await api()
        .post('/api/v1/auth/login')
        .set('Content-Type', 'text/plain')
        .send('email=a@example.com');
      expect(res.status).toBe(415);
      expect(res.body.type).toBe('https://opencourse.dev/problems/unsupported-media-type');
    });

    it('413 for a body over 100 kB', async () => {
      const res = await api()
        .post('/api/v1/auth/login')
        .send({ email: 'a@example.com', password: 'x'.repeat(101 * 1024) });
      expect(res.status).toBe(413);
      expect(res.body.type).toBe('https://opencourse.dev/problems/payload-too-large');
    });

    it('400 with one entry per field, unknown properties included', async () => {
      const res = await api()
        .post('/api/v1/auth/register')
        .send({ email: 'not-an-email', password: 'short', name: 'A', role: 'admin' });
      expect(res.status).toBe(400);
      const paths = res.body.errors.map((e: { path: string }) => e.path).sort();
      expect(paths).toEqual(expect.arrayContaining(['body.email', 'body.password']));
      expect(res.body.errors.some((e: { message: string }) => /additional/i.test(e.message))).toBe(
        true,
      );
    });

    it('400 for an unknown query parameter', async () => {
      const res = await api().get('/api/v1/courses').query({ colour: 'blue' });
      expect(res.status).toBe(400);
      expect(res.body.errors[0].path).toContain('colour');
    });

    it('401 with WWW-Authenticate: Bearer when the token is missing', async () => {
      const res = await api().get('/api/v1/users/me');
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer');
      expect(res.body.type).toBe('https://opencourse.dev/problems/unauthorized');
    });

    it('500 without internals when a handler throws', async () => {
      const failing = createApp(current().services, {
        ...handlers,
        getLiveness: async () => {
          throw new Error('SELECT secret FROM pg_shadow failed at /srv/app.ts:1');
        },
      });
      const res = await supertest(failing).get('/health/live');
      expect(res.status).toBe(500);
      expect(res.body).toEqual({
        type: 'https://opencourse.dev/problems/internal-error',
        title: 'Something went wrong on our side',
        status: 500,
        instance: '/health/live',
        requestId: res.headers['x-request-id'],
      });
    });

    it('500 when a response would break the document (responses are validated)', async () => {
      const leaky = createApp(current().services, {
        ...handlers,
        getLiveness: async () =>
          ({ status: 200, body: { status: 'ok', passwordHash: 'x' } }) as never,
      });
      const res = await supertest(leaky).get('/health/live');
      expect(res.status).toBe(500);
      expect(JSON.stringify(res.body)).not.toContain('passwordHash');
    });
  });

  describe('system operations', () => {
    it('getLiveness', async () => {
      const res = await api().get('/health/live');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: 'ok' });
    });

    it('getReadiness answers 200 while the database answers', async () => {
      const res = await api().get('/health/ready');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: 'ok', checks: { database: 'ok' } });
    });

    it('getOpenApiDocument serves the bundled document, and its YAML twin', async () => {
      const json = await api().get('/api/v1/openapi.json');
      expect(json.status).toBe(200);
      expect(json.body.openapi).toMatch(/^3\.1/);
      expect(Object.keys(json.body.paths)).toContain('/api/v1/courses');
      const yaml = await api().get('/api/v1/openapi.yaml');
      expect(yaml.status).toBe(200);
      expect(yaml.headers['content-type']).toMatch(/yaml/);
      expect(yaml.text).toContain('operationId: listCourses');
    });

    it('/docs is a Redoc page whose script comes from this server only', async () => {
      const page = await api().get('/docs');
      expect(page.status).toBe(200);
      expect(page.headers['content-type']).toMatch(/html/);
      const srcs = [...page.text.matchAll(/src="([^"]+)"/g)].map((m) => m[1]);
      expect(srcs).toEqual(['/docs/redoc.standalone.js']);
      expect(page.text).toContain('spec-url="/api/v1/openapi.json"');
      const csp = page.headers['content-security-policy'];
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("img-src 'self' data:");
      // The page's own policy stands; the other security headers come as on every answer.
      expect(page.headers['x-content-type-options']).toBe('nosniff');
      expect(page.headers['referrer-policy']).toBe('no-referrer');
      const script = await api().get('/docs/redoc.standalone.js');
      expect(script.status).toBe(200);
      expect(script.headers['content-type']).toMatch(/javascript/);
      expect(script.text.length).toBeGreaterThan(100_000);
    });
  });
});
