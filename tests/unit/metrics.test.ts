import { loadConfig } from '../../src/config';
import { openapiDocument } from '../../src/contract';
import { HttpProblem, problems } from '../../src/errors';
import { requestLabeller, statusClass } from '../../src/http/request-metrics';
import { createMetrics, outcomeOf, recordOutcome } from '../../src/observability/metrics';
import { createMailer, type Mail } from '../../src/services/mailer';

describe('request labels', () => {
  it.each([
    [100, '1xx'],
    [200, '2xx'],
    [204, '2xx'],
    [304, '3xx'],
    [404, '4xx'],
    [429, '4xx'],
    [503, '5xx'],
    [599, '5xx'],
    [99, '_OTHER'],
    [600, '_OTHER'],
  ])('gives status %i the class %s', (status, expected) => {
    expect(statusClass(status)).toBe(expected);
  });

  const labeller = requestLabeller(openapiDocument);

  it.each([
    // The validator's match, by the document's path.
    ['GET', '/api/v1/courses/{courseId}', '/anything', 'getCourse'],
    ['HEAD', '/api/v1/courses/{courseId}', '/anything', 'getCourse'],
    ['DELETE', '/api/v1/courses/{courseId}/enroll', '/anything', 'unenrollFromCourse'],
    // No match (refused before the validator ran): the path against the document's templates.
    ['GET', undefined, '/api/v1/users/me', 'getCurrentUser'],
    ['GET', undefined, '/api/v1/courses?limit=20&q=x/y', 'listCourses'],
    ['GET', undefined, '/api/v1/users/3f1c', 'getUser'],
    ['HEAD', undefined, '/api/v1/courses/abc/', 'getCourse'],
    ['POST', undefined, '/api/v1/auth/register', 'registerUser'],
    ['PUT', undefined, '/api/v1/courses/a/lessons/b/completion', 'completeLesson'],
    ['GET', undefined, '/health/ready', 'getReadiness'],
    // Nothing the document describes.
    ['PATCH', undefined, '/api/v1/courses', 'unknown'],
    ['GET', undefined, '/api/v1/courses/a/b/c', 'unknown'],
    ['GET', undefined, '/api/v1/courses/a/b', 'unknown'],
    ['GET', undefined, '/API/V1/COURSES', 'unknown'],
    ['GET', undefined, '/wp-login.php', 'unknown'],
    ['GET', undefined, '/api/v1/coursesX', 'unknown'],
    ['GET', '/not/a/route/{of}/the/document', '/x', 'unknown'],
  ])('names %s (route %s, URL %s) %s', (method, route, path, expected) => {
    expect(labeller.operation(method, route, path)).toBe(expected);
  });

  it('keeps the methods the API serves and folds the rest into _OTHER', () => {
    for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
      expect(labeller.method(method)).toBe(method);
    }
    for (const method of ['PROPFIND', 'PURGE', 'TRACE', 'CONNECT', 'get', 'X'.repeat(100)]) {
      expect(labeller.method(method)).toBe('_OTHER');
    }
  });
});

describe('outcomes', () => {
  it('are the problem kind, or error, never a message', () => {
    expect(outcomeOf(problems.conflict('course-full', 'Seats for user x@example.com'))).toBe(
      'course_full',
    );
    expect(outcomeOf(new HttpProblem(401, 'invalid-credentials'))).toBe('invalid_credentials');
    expect(outcomeOf(new Error('connect ECONNREFUSED'))).toBe('error');
    expect(outcomeOf('thrown string')).toBe('error');
  });

  it('are recorded once, for a success and for a failure', async () => {
    const seen: string[] = [];
    const record = (outcome: string) => seen.push(outcome);
    await expect(
      recordOutcome(record, (n: number) => `got ${n}`, Promise.resolve(2)),
    ).resolves.toBe(2);
    const failure = problems.notFound();
    await expect(recordOutcome(record, () => 'ok', Promise.reject(failure))).rejects.toBe(failure);
    expect(seen).toEqual(['got 2', 'not_found']);
  });
});

describe('registries', () => {
  it('are one per instance, each with the process metrics once', async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.logins.inc({ outcome: 'success' });
    a.logins.inc({ outcome: 'success' });
    const [textA, textB] = await Promise.all([a.scrape(), b.scrape()]);
    expect(textA).toMatch(/^opencourse_logins_total\{outcome="success"\} 2$/m);
    expect(textB).toMatch(/^opencourse_logins_total\{outcome="success"\} 0$/m);
    for (const text of [textA, textB]) {
      const types = text.split('\n').filter((line) => line.startsWith('# TYPE '));
      expect(new Set(types).size).toBe(types.length);
      expect(types).toContain('# TYPE nodejs_eventloop_lag_seconds gauge');
      expect(types).toContain('# TYPE process_cpu_user_seconds_total counter');
      // No pool without PostgreSQL.
      expect(text).not.toContain('opencourse_db_pool');
    }
  });

  it('start every known label value at zero', async () => {
    const text = await createMetrics().scrape();
    for (const series of [
      'opencourse_logins_total{outcome="invalid_credentials"} 0',
      'opencourse_rate_limit_refusals_total{limit="general"} 0',
      'opencourse_rate_limit_refusals_total{limit="email_recipient"} 0',
      'opencourse_enrollments_total{result="course_full"} 0',
      'opencourse_emails_total{result="failed"} 0',
      'opencourse_lesson_completions_total 0',
    ]) {
      expect(text.split('\n')).toContain(series);
    }
  });
});

describe('the mailer', () => {
  it('counts an email the mail server would not take as failed', async () => {
    const metrics = createMetrics();
    // Port 1 on loopback: nothing listens, so the connection is refused at once.
    const mailer = createMailer(loadConfig({ SMTP_URL: 'smtp://127.0.0.1:1' }), metrics);
    const mail: Mail = { to: 'a@example.com', subject: 'S', text: 'T', html: '<p>T</p>' };
    mailer.send(mail);
    await mailer.close();
    const text = await metrics.scrape();
    expect(text).toMatch(/^opencourse_emails_total\{result="failed"\} 1$/m);
    expect(text).toMatch(/^opencourse_emails_total\{result="sent"\} 0$/m);
  });
});
