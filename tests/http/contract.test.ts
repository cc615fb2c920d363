import { HTTP_METHODS, openapiDocument } from '../../src/contract';
import { handlers } from '../../src/http/handlers';
import { describeEachDatabase } from '../helpers/app';

/**
 * The product's rule (api-v1.md, Conventions): answers with tokens or an account's own data are
 * not to be stored. Here: tokens, webhook secrets, accounts, a student's enrollment, completions
 * and progress in a course, and a course's roster. The server sends the header wherever the
 * document declares it (src/http/no-store.ts).
 */
const NO_STORE_PATHS =
  /^\/api\/v1\/((auth|users|webhooks)(\/|$)|courses\/[^/]+\/(enroll|enrollments|progress|lessons\/[^/]+\/completion)\/?$)/i;

const operationIds = Object.values(openapiDocument.paths).flatMap((item) =>
  HTTP_METHODS.flatMap((method) => (item[method] ? [item[method].operationId] : [])),
);

describe('the handler map', () => {
  it('covers the 48 operations of the document, and nothing else', () => {
    expect(operationIds).toHaveLength(48);
    expect(Object.keys(handlers).sort()).toEqual([...operationIds].sort());
    for (const id of operationIds)
      expect(typeof handlers[id as keyof typeof handlers]).toBe('function');
  });
});

describe('Cache-Control: no-store in the document', () => {
  it('is declared on the successful answers of exactly the paths the product rule names', () => {
    const mismatches: string[] = [];
    for (const [path, item] of Object.entries(openapiDocument.paths)) {
      // A concrete path of the template, as a request would have it.
      const sent = NO_STORE_PATHS.test(path.replace(/\{[^}]+\}/g, 'x'));
      for (const method of HTTP_METHODS) {
        for (const [status, answer] of Object.entries(item[method]?.responses ?? {})) {
          if (!status.startsWith('2')) continue;
          const declared = answer.headers?.['Cache-Control'] !== undefined;
          if (declared !== sent) {
            mismatches.push(`${item[method]!.operationId} ${status}: declared ${declared}`);
          }
        }
      }
    }
    expect(mismatches).toEqual([]);
  });
});

describeEachDatabase('request bodies are taken as the document says', (current) => {
  it('does not coerce types: a number where a string belongs is a 400', async () => {
    const res = await current()
      .request()
      .post('/api/v1/auth/login')
      .send({ email: 'a@example.com', password: 123456789012 });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ path: 'body.password', message: 'must be string' }]);
  });

  it('refuses fields a caller may not set (no mass assignment)', async () => {
    const res = await current().request().post('/api/v1/auth/register').send({
      email: 'mass@example.com',
      password: 'a-long-enough-password',
      name: 'Mass',
      role: 'admin',
      emailVerified: true,
    });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { message: string }) => e.message)).toEqual(
      expect.arrayContaining([expect.stringMatching(/additional propert/i)]),
    );
  });

  it('refuses a path id that is not a UUID with a 400', async () => {
    const res = await current().request().get('/api/v1/courses/not-a-uuid');
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toContain('courseId');
  });
});
