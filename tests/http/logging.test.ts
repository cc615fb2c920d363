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
  },
  env,
);
