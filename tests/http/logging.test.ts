import Transport from 'winston-transport';
import { describeEachDatabase } from '../helpers/app';
import { PASSWORD, registerAndCatch, tokensFor } from '../helpers/auth-flows';
import { catchMailFor, tokenFromLink } from '../helpers/smtp';
import { logger } from '../../src/logger';

/** Keeps every line the logger writes, as the JSON a log shipper would receive. */
class Capture extends Transport {
  lines: string[] = [];
  override log(info: unknown, next: () => void): void {
    this.lines.push(JSON.stringify(info));
    next();
  }
}

const env: Record<string, string> = {};

/** Lines reach the transport after the response has gone: wait for them a little. */
async function waitFor(done: () => boolean): Promise<void> {
  const deadline = Date.now() + 2_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('the expected log lines never came');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
const smtp = catchMailFor(env);

describeEachDatabase(
  'log lines',
  (current) => {
    let capture: Capture;
    let saved: { level: string; silent: boolean | undefined };
    beforeEach(() => {
      capture = new Capture();
      saved = { level: logger.level, silent: logger.silent };
      logger.add(capture);
      // The terminal stays quiet: only the capture listens.
      for (const t of logger.transports) if (t !== capture) t.silent = true;
      logger.silent = false;
      logger.level = 'silly';
    });
    afterEach(() => {
      logger.remove(capture);
      for (const t of logger.transports) t.silent = false;
      logger.level = saved.level;
      logger.silent = saved.silent ?? false;
    });

    it('carry no password, hash or token through register, verify, login, refresh, reset', async () => {
      const api = () => current().request();
      const { user, token: verifyToken } = await registerAndCatch(current(), smtp());
      await api().post('/api/v1/auth/verify-email').send({ token: verifyToken });
      const pair = await tokensFor(current(), user.email);
      const refreshed = (
        await api().post('/api/v1/auth/refresh').send({ refreshToken: pair.refreshToken })
      ).body;
      await api()
        .post('/api/v1/auth/login')
        .send({ email: user.email, password: 'a wrong password here' });
      const since = smtp().mails.length;
      await api().post('/api/v1/auth/password-reset').send({ email: user.email });
      const resetToken = tokenFromLink(
        (await smtp().waitFor(user.email, since)).raw,
        '/reset-password',
      );
      const newPassword = 'the next passphrase 2027';
      await api()
        .post('/api/v1/auth/password-reset/confirm')
        .send({ token: resetToken, newPassword });
      await current().services.mailer.idle();

      const { database } = current();
      const [row] = await database.db.select().from(database.t.users);
      const log = capture.lines.join('\n');
      expect(capture.lines.length).toBeGreaterThan(5); // the access log did write
      for (const secret of [
        PASSWORD,
        newPassword,
        'a wrong password here',
        verifyToken,
        resetToken,
        pair.accessToken,
        pair.refreshToken,
        refreshed.accessToken,
        refreshed.refreshToken,
        row!.passwordHash,
        '$argon2id$',
      ]) {
        expect(log).not.toContain(secret);
      }
    });

    it('write one access line per request at info, and none below it', async () => {
      const id = 'access-line-check';
      const lines = () => capture.lines.filter((line) => line.includes(id));
      await current().request().get('/health/live').set('X-Request-Id', id).expect(200);
      await waitFor(() => lines().length === 1);
      expect(JSON.parse(lines()[0]!)).toMatchObject({
        level: 'info',
        requestId: id,
        method: 'GET',
        route: '/health/live',
        status: 200,
      });

      logger.level = 'warn';
      capture.lines.length = 0;
      await current().request().get('/health/live').set('X-Request-Id', id).expect(200);
      await current().request().get('/no/such/path').set('X-Request-Id', id).expect(404);
      logger.warn('a warning still goes out', { requestId: id });
      await waitFor(() => lines().length > 0);
      expect(lines().map((line) => (JSON.parse(line) as { level: string }).level)).toEqual([
        'warn',
      ]);
    });
  },
  env,
);
