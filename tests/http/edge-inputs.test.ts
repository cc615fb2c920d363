import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { sql } from 'drizzle-orm';
import supertest from 'supertest';
import winston from 'winston';
import { createApp } from '../../src/http/app';
import { answerClientErrors } from '../../src/http/client-errors';
import { handlers } from '../../src/http/handlers';
import { PROBLEM_BASE } from '../../src/http/problems';
import { logger } from '../../src/logger';
import { describeEachDatabase } from '../helpers/app';
import { bearer, createUser } from '../helpers/users';

// Inputs at the edges of HTTP and of the two databases: each has one answer on both.
describeEachDatabase('edge inputs', (current) => {
  const api = () => current().request();

  it('HEAD answers as GET does, without a body', async () => {
    for (const path of ['/health/live', '/health/ready', '/api/v1/courses']) {
      const res = await api().head(path);
      expect(res.status).toBe(200);
      expect(res.text).toBeUndefined();
      expect(res.headers['content-type']).toMatch(/json/);
    }
  });

  it('headers over the parser limit get a 431 problem, not a bare status line', async () => {
    const server = createServer(current().app);
    answerClientErrors(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/courses`, {
        headers: { 'X-Padding': 'x'.repeat(20_000) },
      });
      expect(res.status).toBe(431);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      const body = (await res.json()) as Record<string, unknown>;
      expect(body).toMatchObject({ status: 431, type: `${PROBLEM_BASE}validation-error` });
      expect(body.requestId).toBe(res.headers.get('x-request-id'));
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('a problem stays within the document bounds however many fields a body gets wrong', async () => {
    const body: Record<string, string> = { email: 'a@example.com', password: 'x' };
    for (let i = 0; i < 5000; i++) body[`extra${i}`] = 'x';
    const many = await api().post('/api/v1/auth/login').send(body);
    expect(many.status).toBe(400);
    expect(many.body.errors).toHaveLength(100);
    const long = await api()
      .post('/api/v1/auth/login')
      .send({ email: 'a@example.com', password: 'x', ['k'.repeat(90_000)]: 1 });
    expect(long.status).toBe(400);
    expect(long.body.errors[0].path.length).toBeLessThanOrEqual(1024);
  });

  it('405 names the allowed methods in Allow', async () => {
    const res = await api().delete('/api/v1/courses');
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('POST, GET');
  });

  it('a NUL character is a 400 naming the field, in a query or a body', async () => {
    const query = await api().get('/api/v1/courses').query({ q: 'a\u0000b' });
    expect(query.status).toBe(400);
    expect(query.body.errors).toEqual([
      { path: 'query.q', message: 'must not contain NUL characters' },
    ]);
    const body = await api()
      .post('/api/v1/auth/register')
      .send({ email: 'nul@example.com', password: 'a-long-enough-password', name: 'a\u0000b' });
    expect(body.status).toBe(400);
    expect(body.body.errors[0].path).toBe('body.name');
  });

  it('an Authorization header that is not Bearer is a 401 where a token is optional', async () => {
    for (const header of ['Basic YWRhOnNlY3JldA==', 'Bearer', 'Bearer not.a.jwt']) {
      const res = await api().get('/api/v1/courses').set('Authorization', header);
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer');
    }
  });

  it('takes ids in any case', async () => {
    const instructor = await createUser(current(), { role: 'instructor' });
    const created = await api()
      .post('/api/v1/courses')
      .set(bearer(instructor))
      .send({ title: 'Case', status: 'draft' });
    const upper = await api()
      .get(`/api/v1/courses/${created.body.id.toUpperCase()}`)
      .set(bearer(instructor));
    expect(upper.status).toBe(200);
    expect(upper.body.id).toBe(created.body.id);
  });

  it('a cursor is refused under other filters than its own', async () => {
    const instructor = await createUser(current(), { role: 'instructor' });
    for (const title of ['One', 'Two']) {
      await api()
        .post('/api/v1/courses')
        .set(bearer(instructor))
        .send({ title, status: 'published', category: 'edge' });
    }
    const first = await api().get('/api/v1/courses').query({ category: 'edge', limit: 1 });
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const same = await api()
      .get('/api/v1/courses')
      .query({ category: 'edge', limit: 1, cursor: first.body.nextCursor });
    expect(same.status).toBe(200);
    const other = await api()
      .get('/api/v1/courses')
      .query({ category: 'other', limit: 1, cursor: first.body.nextCursor });
    expect(other.status).toBe(400);
    expect(other.body.errors).toEqual([{ path: 'query.cursor', message: 'is not a valid cursor' }]);
  });

  it('logs a failed query without its parameters', async () => {
    const lines: string[] = [];
    const capture = new winston.transports.Stream({
      stream: new Writable({
        write(chunk, _enc, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    });
    const failing = createApp(current().services, {
      ...handlers,
      getLiveness: async () => {
        // A query bound to a secret that fails in the database.
        const { db, t } = current().database;
        await db
          .select()
          .from(t.users)
          .where(sql`no_such_column = ${'s3cret-hash'}`);
        return { status: 200, body: { status: 'ok' } };
      },
    });
    const silent = logger.silent;
    const others = [...logger.transports];
    for (const transport of others) transport.silent = true;
    logger.silent = false;
    logger.add(capture);
    try {
      const res = await supertest(failing).get('/health/live');
      expect(res.status).toBe(500);
    } finally {
      logger.remove(capture);
      logger.silent = silent;
      for (const transport of others) transport.silent = false;
    }
    const logged = lines.join('\n');
    expect(logged).toMatch(/no_such_column/);
    expect(logged).not.toContain('s3cret-hash');
  });
});
