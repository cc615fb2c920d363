import { describeEachDatabase } from '../helpers/app';
import { PASSWORD, auth, tokensFor, uniqueEmail } from '../helpers/auth-flows';
import { catchMailFor, readMail, tokenFromLink } from '../helpers/smtp';

const PROBLEM = 'https://opencourse.dev/problems/';
const env: Record<string, string> = { APP_BASE_URL: 'https://app.example.test' };
const smtp = catchMailFor(env);

describeEachDatabase(
  'user locales',
  (current) => {
    const api = () => current().request();

    /**
     * Registers with the given body extras and headers; on a 201, waits for the verification
     * email, so that no later wait can mistake it for another.
     */
    async function register(
      extra: Record<string, unknown> = {},
      headers: Record<string, string> = {},
      prefix = 'loc',
    ) {
      const email = uniqueEmail(prefix);
      const since = smtp().mails.length;
      const res = await api()
        .post('/api/v1/auth/register')
        .set(headers)
        .send({ email, password: PASSWORD, name: 'Ada', ...extra });
      const mail = res.status === 201 ? await smtp().waitFor(email, since) : undefined;
      return { email, res, mail };
    }

    it('fr-CA from Accept-Language: stored as sent, and the verification email is French', async () => {
      const { email, res, mail } = await register(
        {},
        { 'Accept-Language': 'fr-CA,fr;q=0.9,en;q=0.5' },
      );
      expect(res.status).toBe(201);
      expect(res.body.locale).toBe('fr-CA');
      if (!mail) throw new Error('no verification email');
      const { subject, body } = readMail(mail.raw);
      expect(subject).toBe('Confirmez votre adresse e-mail');
      expect(body).toContain('Bonjour Ada,');
      expect(body).toContain('Veuillez confirmer votre adresse e-mail en ouvrant ce lien :');
      expect(body).not.toContain('Please confirm');
      // The link has the same form as in English, and works.
      const token = tokenFromLink(mail.raw, '/verify-email');
      expect(body).toContain(`https://app.example.test/verify-email?token=${token}`);
      expect((await api().post('/api/v1/auth/verify-email').send({ token })).status).toBe(204);

      const tokens = await tokensFor(current(), email);
      const me = await api().get('/api/v1/users/me').set(auth(tokens.accessToken));
      expect(me.status).toBe(200);
      expect(me.body.locale).toBe('fr-CA');
    });

    it('English without a header, and the link has the same form', async () => {
      const { res, mail } = await register();
      expect(res.body.locale).toBe('en');
      if (!mail) throw new Error('no verification email');
      const { subject, body } = readMail(mail.raw);
      expect(subject).toBe('Confirm your email address');
      expect(body).toContain('Hello Ada,');
      const token = tokenFromLink(mail.raw, '/verify-email');
      expect(body).toContain(`https://app.example.test/verify-email?token=${token}`);
    });

    it('the body locale beats the header, and is stored in canonical case', async () => {
      const chosen = await register({ locale: 'en' }, { 'Accept-Language': 'fr' });
      expect(chosen.res.status).toBe(201);
      expect(chosen.res.body.locale).toBe('en');

      const cased = await register({ locale: 'PT-br' }, { 'Accept-Language': 'fr' });
      expect(cased.res.status).toBe(201);
      expect(cased.res.body.locale).toBe('pt-BR');
      // No Portuguese templates: English.
      expect(readMail(cased.mail?.raw ?? '').subject).toBe('Confirm your email address');
    });

    it('400 with errors at body.locale for a tag that is not well-formed', async () => {
      // The first ones fail the contract's pattern; the last ones have its form but not BCP 47's,
      // which the server's parser finds.
      for (const locale of ['en_US', 'fr--CA', 'toolongtag', 'x', 'a'.repeat(36), 'en-a', 'root']) {
        const { res } = await register({ locale });
        expect(res.status).toBe(400);
        expect(res.body.type).toBe(`${PROBLEM}validation-error`);
        expect(res.body.errors).toEqual(
          expect.arrayContaining([expect.objectContaining({ path: 'body.locale' })]),
        );
      }
    });

    it('malformed, unknown or huge Accept-Language headers fall back to en, never a 500', async () => {
      const headers = [
        'xx',
        'de-DE,de;q=0.9',
        '*',
        'fr;q=0',
        ';;;,,,=q',
        'en_US!!, @@@;q=abc',
        'fr;q=zzz',
        'x'.repeat(1000),
        `${'zz;q=0.1,'.repeat(111)}z`,
      ];
      for (const value of headers) {
        const { res } = await register({}, { 'Accept-Language': value });
        expect([value.slice(0, 20), res.status]).toEqual([value.slice(0, 20), 201]);
        expect(res.body.locale).toBe('en');
      }
      // Longer than the contract's 1000 characters: a 400, still not a 500.
      const { res } = await register({}, { 'Accept-Language': 'x'.repeat(1001) });
      expect(res.status).toBe(400);
    });

    it('updateCurrentUser changes the locale; the next reset email is in the new language', async () => {
      const { email, res } = await register({}, { 'Accept-Language': 'en' });
      expect(res.body.locale).toBe('en');
      const tokens = await tokensFor(current(), email);

      const bad = await api()
        .patch('/api/v1/users/me')
        .set(auth(tokens.accessToken))
        .send({ locale: 'en-US-US' });
      expect(bad.status).toBe(400);
      expect(bad.body.errors).toEqual(
        expect.arrayContaining([expect.objectContaining({ path: 'body.locale' })]),
      );

      const updated = await api()
        .patch('/api/v1/users/me')
        .set(auth(tokens.accessToken))
        .send({ locale: 'FR-be' });
      expect(updated.status).toBe(200);
      expect(updated.body.locale).toBe('fr-BE');

      const since = smtp().mails.length;
      const reset = await api().post('/api/v1/auth/password-reset').send({ email });
      expect(reset.status).toBe(202);
      const mail = await smtp().waitFor(email, since);
      const { subject, body } = readMail(mail.raw);
      expect(subject).toBe('Réinitialisez votre mot de passe');
      expect(body).toContain('Bonjour Ada,');
      const token = tokenFromLink(mail.raw, '/reset-password');
      expect(body).toContain(`https://app.example.test/reset-password?token=${token}`);
    });

    it('resending the verification email uses the stored locale', async () => {
      const { email, res } = await register({ locale: 'fr' });
      expect(res.body.locale).toBe('fr');
      const since = smtp().mails.length;
      const resend = await api().post('/api/v1/auth/verify-email/resend').send({ email });
      expect(resend.status).toBe(202);
      const mail = await smtp().waitFor(email, since);
      expect(readMail(mail.raw).subject).toBe('Confirmez votre adresse e-mail');
    });
  },
  env,
);
