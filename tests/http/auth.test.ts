import argon2 from 'argon2';
import { eq } from 'drizzle-orm';
import { SignJWT } from 'jose';
import { describeEachDatabase } from '../helpers/app';
import {
  PASSWORD,
  auth,
  login,
  registerAndCatch,
  tokensFor,
  uniqueEmail,
} from '../helpers/auth-flows';
import { catchMailFor, tokenFromLink } from '../helpers/smtp';
import { bearer, createUser, olderHash } from '../helpers/users';
import { createSessionEvents } from '../../src/data/session-events';
import { createUserStore } from '../../src/data/users';
import { hashToken } from '../../src/services/tokens';

const PROBLEM = 'https://opencourse.dev/problems/';
const env: Record<string, string> = { APP_BASE_URL: 'https://app.example.test' };
const verifyingEnv: Record<string, string> = { REQUIRE_EMAIL_VERIFICATION: 'true' };
const smtp = catchMailFor(env, verifyingEnv);

/** The parts of a problem body that do not vary per request. */
const stable = (body: Record<string, unknown>) => ({
  ...body,
  requestId: undefined,
  instance: undefined,
});

describeEachDatabase(
  'authentication',
  (current) => {
    const api = () => current().request();

    describe('registerUser and verifyEmail', () => {
      it('creates a student, answers 201 with Location, and emails a working link', async () => {
        const email = uniqueEmail('Ada').replace('ada', 'ADA');
        const since = smtp().mails.length;
        const res = await api()
          .post('/api/v1/auth/register')
          .send({ email, password: PASSWORD, name: 'Ada Lovelace' });
        expect(res.status).toBe(201);
        expect(res.headers.location).toBe(`/api/v1/users/${res.body.id}`);
        expect(res.body).toEqual({
          id: expect.stringMatching(/^[0-9a-f-]{36}$/),
          email: email.toLowerCase(),
          name: 'Ada Lovelace',
          bio: null,
          role: 'student',
          status: 'active',
          emailVerified: false,
          locale: 'en',
          createdAt: expect.any(String),
          updatedAt: expect.any(String),
        });

        const mail = await smtp().waitFor(email, since);
        expect(mail.raw).toMatch(/Content-Type: text\/plain/i);
        expect(mail.raw).toMatch(/Content-Type: text\/html/i);
        const token = tokenFromLink(mail.raw, '/verify-email');
        expect(mail.raw.replace(/=\r?\n/g, '').replace(/=3D/gi, '=')).toContain(
          `https://app.example.test/verify-email?token=${token}`,
        );

        const tokens = await tokensFor(current(), email);
        const before = await api()
          .get(`/api/v1/users/${res.body.id}`)
          .set(auth(tokens.accessToken));
        expect(before.body.emailVerified).toBe(false);

        const verified = await api().post('/api/v1/auth/verify-email').send({ token });
        expect(verified.status).toBe(204);
        const after = await api().get('/api/v1/users/me').set(auth(tokens.accessToken));
        expect(after.body.emailVerified).toBe(true);

        const again = await api().post('/api/v1/auth/verify-email').send({ token });
        expect(again.status).toBe(400);
        expect(again.body.type).toBe(`${PROBLEM}invalid-token`);
      });

      it('409 email-taken for an email that differs only in case', async () => {
        const email = uniqueEmail('taken');
        await registerAndCatch(current(), smtp(), email);
        const res = await api()
          .post('/api/v1/auth/register')
          .send({ email: email.toUpperCase(), password: PASSWORD, name: 'Other' });
        expect(res.status).toBe(409);
        expect(res.body.type).toBe(`${PROBLEM}email-taken`);
      });

      it.each([
        { role: 'admin' },
        { emailVerified: true },
        { id: '3f6c1b1e-9a4d-4c1f-8e2a-1b2c3d4e5f60' },
      ])('refuses mass assignment of %j with 400', async (extra) => {
        const res = await api()
          .post('/api/v1/auth/register')
          .send({ email: uniqueEmail(), password: PASSWORD, name: 'Eve', ...extra });
        expect(res.status).toBe(400);
        expect(res.body.type).toBe(`${PROBLEM}validation-error`);
      });

      it('400 for a short password or an empty name', async () => {
        const res = await api()
          .post('/api/v1/auth/register')
          .send({ email: uniqueEmail(), password: 'elevenchars', name: '' });
        expect(res.status).toBe(400);
        const paths = res.body.errors.map((e: { path: string }) => e.path);
        expect(paths).toEqual(expect.arrayContaining(['body.password', 'body.name']));
      });

      it('400 invalid-token for an unknown token and for an expired one', async () => {
        const unknown = await api()
          .post('/api/v1/auth/verify-email')
          .send({ token: 'x'.repeat(43) });
        expect(unknown.status).toBe(400);
        expect(unknown.body.type).toBe(`${PROBLEM}invalid-token`);

        const { token } = await registerAndCatch(current(), smtp());
        const { database } = current();
        await database.transaction((tx) =>
          tx
            .update(database.t.emailTokens)
            .set({ expiresAt: new Date(Date.now() - 1000) })
            .where(eq(database.t.emailTokens.tokenHash, hashToken(token))),
        );
        const expired = await api().post('/api/v1/auth/verify-email').send({ token });
        expect(expired.status).toBe(400);
        expect(expired.body.type).toBe(`${PROBLEM}invalid-token`);
      });

      it('stores only hashes of the emailed token', async () => {
        const { token, user } = await registerAndCatch(current(), smtp());
        const { database } = current();
        const rows = await database.db
          .select()
          .from(database.t.emailTokens)
          .where(eq(database.t.emailTokens.userId, user.id));
        expect(rows).toHaveLength(1);
        expect(rows[0]!.tokenHash).toBe(hashToken(token));
        expect(JSON.stringify(rows)).not.toContain(token);
      });
    });

    describe('resendVerificationEmail', () => {
      it('sends a new link that works; the older one stops working', async () => {
        const { token: first, user } = await registerAndCatch(current(), smtp());
        const since = smtp().mails.length;
        const res = await api()
          .post('/api/v1/auth/verify-email/resend')
          .send({ email: user.email });
        expect(res.status).toBe(202);
        const second = tokenFromLink(
          (await smtp().waitFor(user.email, since)).raw,
          '/verify-email',
        );
        expect(second).not.toBe(first);
        expect((await api().post('/api/v1/auth/verify-email').send({ token: first })).status).toBe(
          400,
        );
        expect((await api().post('/api/v1/auth/verify-email').send({ token: second })).status).toBe(
          204,
        );
      });

      it('answers the same for unknown, unverified and verified addresses', async () => {
        const { user } = await registerAndCatch(current(), smtp());
        const verified = await createUser(current());
        const answers = await Promise.all(
          [uniqueEmail('nobody'), user.email, verified.email].map((email) =>
            api().post('/api/v1/auth/verify-email/resend').send({ email }),
          ),
        );
        for (const res of answers) {
          expect(res.status).toBe(202);
          expect(res.text).toBe('');
        }
        await current().services.mailer.idle();
        expect(smtp().mails.some((m) => m.to.includes(verified.email))).toBe(false);
      });
    });

    describe('loginUser', () => {
      it('returns a Bearer pair whose access token works', async () => {
        const user = await createUser(current());
        const res = await login(current(), user.email.toUpperCase(), user.password);
        expect(res.status).toBe(200);
        expect(res.body).toEqual({
          accessToken: expect.any(String),
          refreshToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
          tokenType: 'Bearer',
          expiresIn: 900,
        });
        const me = await api().get('/api/v1/users/me').set(auth(res.body.accessToken));
        expect(me.status).toBe(200);
        expect(me.body.id).toBe(user.id);
      });

      it('gives the same 401 for a wrong password, an unknown email and a suspended account', async () => {
        const user = await createUser(current());
        const suspended = await createUser(current());
        const { database } = current();
        await database.transaction((tx) =>
          tx
            .update(database.t.users)
            .set({ status: 'suspended' })
            .where(eq(database.t.users.id, suspended.id)),
        );
        const wrong = await login(current(), user.email, 'not the password at all');
        const unknown = await login(current(), uniqueEmail('ghost'), 'not the password at all');
        const frozen = await login(current(), suspended.email, suspended.password);
        for (const res of [wrong, unknown, frozen]) {
          expect(res.status).toBe(401);
          expect(res.headers['www-authenticate']).toBe('Bearer');
          expect(res.body.type).toBe(`${PROBLEM}invalid-credentials`);
          expect(stable(res.body)).toEqual(stable(wrong.body));
        }
      });

      it('runs the same argon2id verification for an unknown email as for a wrong password', async () => {
        // Registered through the API, so its hash has the live parameters.
        const { user } = await registerAndCatch(current(), smtp());
        const verify = jest.spyOn(argon2, 'verify');
        try {
          const parametersOfCheck = async (email: string) => {
            verify.mockClear();
            expect((await login(current(), email, 'not the password at all')).status).toBe(401);
            expect(verify).toHaveBeenCalledTimes(1);
            // "$argon2id$v=19$m=7168,p=1,t=5$salt$hash": everything but salt and hash.
            return String(verify.mock.calls[0]![0]).split('$').slice(0, 4).join('$');
          };
          const known = await parametersOfCheck(user.email);
          const unknown = await parametersOfCheck(uniqueEmail());
          expect(known).toBe('$argon2id$v=19$m=7168,p=1,t=5');
          expect(unknown).toBe(known);
        } finally {
          verify.mockRestore();
        }
      });

      it('remakes a hash made with older settings at the next right login, and only then', async () => {
        const user = await createUser(current());
        const { database } = current();
        const { users } = database.t;
        const older = await olderHash(user.password);
        const setHash = (passwordHash: string) =>
          database.transaction((tx) =>
            tx.update(users).set({ passwordHash }).where(eq(users.id, user.id)),
          );
        const stored = async () =>
          (
            await database.db
              .select({ hash: users.passwordHash, updatedAt: users.updatedAt })
              .from(users)
              .where(eq(users.id, user.id))
          )[0]!;
        await setHash(older);
        const before = await stored();

        expect((await login(current(), user.email, 'not the password at all')).status).toBe(401);
        expect((await stored()).hash).toBe(older);

        expect((await login(current(), user.email, user.password)).status).toBe(200);
        const after = await stored();
        expect(after.hash).toMatch(/^\$argon2id\$v=19\$m=7168,p=1,t=5\$/);
        expect(await argon2.verify(after.hash, user.password)).toBe(true);
        expect(after.updatedAt).toEqual(before.updatedAt);
        expect((await login(current(), user.email, user.password)).status).toBe(200);
        expect((await stored()).hash).toBe(after.hash);

        // A password changed between the check and the write is not overwritten.
        await setHash(older);
        const store = createUserStore(database, createSessionEvents(database));
        await store.replacePasswordHash(user.id, 'a hash that is no longer stored', after.hash);
        expect((await stored()).hash).toBe(older);
      });
    });

    describe('refreshTokens', () => {
      it('rotates: a new pair, and the spent token is refused', async () => {
        const user = await createUser(current());
        const first = await tokensFor(current(), user.email, user.password);
        const res = await api()
          .post('/api/v1/auth/refresh')
          .send({ refreshToken: first.refreshToken });
        expect(res.status).toBe(200);
        expect(res.body.tokenType).toBe('Bearer');
        expect(res.body.refreshToken).not.toBe(first.refreshToken);
        expect((await api().get('/api/v1/users/me').set(auth(res.body.accessToken))).status).toBe(
          200,
        );
      });

      it('reuse of a spent token revokes the whole session', async () => {
        const user = await createUser(current());
        const first = await tokensFor(current(), user.email, user.password);
        const second = (
          await api().post('/api/v1/auth/refresh').send({ refreshToken: first.refreshToken })
        ).body;
        const reuse = await api()
          .post('/api/v1/auth/refresh')
          .send({ refreshToken: first.refreshToken });
        expect(reuse.status).toBe(401);
        expect(reuse.headers['www-authenticate']).toBe('Bearer');
        expect(reuse.body.type).toBe(`${PROBLEM}unauthorized`);
        // The descendant and the session's access tokens are dead too.
        expect(
          (await api().post('/api/v1/auth/refresh').send({ refreshToken: second.refreshToken }))
            .status,
        ).toBe(401);
        expect((await api().get('/api/v1/users/me').set(auth(second.accessToken))).status).toBe(
          401,
        );
        expect((await api().get('/api/v1/users/me').set(auth(first.accessToken))).status).toBe(401);
        // Another login of the same user is untouched.
        expect((await api().get('/api/v1/users/me').set(bearer(user))).status).toBe(200);
      });

      it('401 for an unknown or expired refresh token, and for a suspended account', async () => {
        expect(
          (
            await api()
              .post('/api/v1/auth/refresh')
              .send({ refreshToken: 'y'.repeat(43) })
          ).status,
        ).toBe(401);

        const user = await createUser(current());
        const expiring = await tokensFor(current(), user.email, user.password);
        const { database } = current();
        await database.transaction((tx) =>
          tx
            .update(database.t.refreshTokens)
            .set({ expiresAt: new Date(Date.now() - 1000) })
            .where(eq(database.t.refreshTokens.tokenHash, hashToken(expiring.refreshToken))),
        );
        expect(
          (await api().post('/api/v1/auth/refresh').send({ refreshToken: expiring.refreshToken }))
            .status,
        ).toBe(401);

        const live = await tokensFor(current(), user.email, user.password);
        await database.transaction((tx) =>
          tx
            .update(database.t.users)
            .set({ status: 'suspended' })
            .where(eq(database.t.users.id, user.id)),
        );
        expect(
          (await api().post('/api/v1/auth/refresh').send({ refreshToken: live.refreshToken }))
            .status,
        ).toBe(401);
      });
    });

    describe('logoutUser', () => {
      it('revokes the access token used and the refresh token given', async () => {
        const user = await createUser(current());
        const pair = await tokensFor(current(), user.email, user.password);
        const res = await api()
          .post('/api/v1/auth/logout')
          .set(auth(pair.accessToken))
          .send({ refreshToken: pair.refreshToken });
        expect(res.status).toBe(204);
        const me = await api().get('/api/v1/users/me').set(auth(pair.accessToken));
        expect(me.status).toBe(401);
        expect(me.headers['www-authenticate']).toBe('Bearer');
        expect(
          (await api().post('/api/v1/auth/refresh').send({ refreshToken: pair.refreshToken }))
            .status,
        ).toBe(401);
      });

      it("with no body revokes only this session; another user's refresh token is ignored", async () => {
        const user = await createUser(current());
        const other = await createUser(current());
        const otherPair = await tokensFor(current(), other.email, other.password);
        const res = await api()
          .post('/api/v1/auth/logout')
          .set(bearer(user))
          .send({ refreshToken: otherPair.refreshToken });
        expect(res.status).toBe(204);
        expect((await api().get('/api/v1/users/me').set(bearer(user))).status).toBe(401);
        expect(
          (await api().post('/api/v1/auth/refresh').send({ refreshToken: otherPair.refreshToken }))
            .status,
        ).toBe(200);

        const second = await createUser(current());
        const empty = await api().post('/api/v1/auth/logout').set(bearer(second));
        expect(empty.status).toBe(204);
      });

      it('401 without a token', async () => {
        const res = await api().post('/api/v1/auth/logout').send({});
        expect(res.status).toBe(401);
        expect(res.headers['www-authenticate']).toBe('Bearer');
      });
    });

    describe('forged and broken access tokens', () => {
      const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

      const forge = async (
        mutate: (jwt: SignJWT) => SignJWT,
        secret = current().config.jwtSecret,
      ): Promise<string> => {
        const user = await createUser(current());
        const { jwtIssuer, jwtAudience } = current().config;
        const jwt = new SignJWT({ role: 'admin', sid: user.sessionId })
          .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
          .setIssuer(jwtIssuer)
          .setAudience(jwtAudience)
          .setSubject(user.id)
          .setJti('forged')
          .setIssuedAt()
          .setExpirationTime('5m');
        return mutate(jwt).sign(secret);
      };

      const cases: [string, () => Promise<string>][] = [
        [
          'alg none',
          async () => {
            const user = await createUser(current());
            const now = Math.floor(Date.now() / 1000);
            const payload = {
              sub: user.id,
              sid: user.sessionId,
              role: 'admin',
              iss: current().config.jwtIssuer,
              aud: current().config.jwtAudience,
              iat: now,
              exp: now + 300,
              jti: 'x',
            };
            return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`;
          },
        ],
        [
          'a tampered payload',
          async () => {
            const user = await createUser(current());
            const [header, payload, signature] = user.token.split('.');
            const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
            return `${header}.${b64({ ...claims, role: 'admin' })}.${signature}`;
          },
        ],
        [
          'the wrong key',
          () => forge((j) => j, new TextEncoder().encode('another-secret-of-at-least-32-bytes!!')),
        ],
        [
          'an expired token',
          () =>
            forge((j) =>
              j
                .setIssuedAt(Math.floor(Date.now() / 1000) - 3600)
                .setExpirationTime(Math.floor(Date.now() / 1000) - 60),
            ),
        ],
        ['the wrong audience', () => forge((j) => j.setAudience('someone-else'))],
        ['the wrong issuer', () => forge((j) => j.setIssuer('someone-else'))],
        ['garbage', async () => 'not.a.jwt'],
      ];

      it.each(cases)('401 for %s', async (_name, make) => {
        const res = await api()
          .get('/api/v1/users/me')
          .set(auth(await make()));
        expect(res.status).toBe(401);
        expect(res.headers['www-authenticate']).toBe('Bearer');
        expect(res.body.type).toBe(`${PROBLEM}unauthorized`);
      });

      it('the same signing, untampered, is accepted (the forgeries fail for their flaw alone)', async () => {
        const res = await api()
          .get('/api/v1/users/me')
          .set(auth(await forge((j) => j)));
        expect(res.status).toBe(200);
      });
    });

    describe('password reset', () => {
      it('emails a single-use link that sets the password and ends every session', async () => {
        const user = await createUser(current());
        const pair = await tokensFor(current(), user.email, user.password);
        const since = smtp().mails.length;
        const res = await api()
          .post('/api/v1/auth/password-reset')
          .send({ email: user.email.toUpperCase() });
        expect(res.status).toBe(202);
        const mail = await smtp().waitFor(user.email, since);
        const token = tokenFromLink(mail.raw, '/reset-password');
        expect(mail.raw.replace(/=\r?\n/g, '').replace(/=3D/gi, '=')).toContain(
          `https://app.example.test/reset-password?token=${token}`,
        );

        const newPassword = 'a brand new passphrase 2026';
        const confirmed = await api()
          .post('/api/v1/auth/password-reset/confirm')
          .send({ token, newPassword });
        expect(confirmed.status).toBe(204);

        expect((await api().get('/api/v1/users/me').set(bearer(user))).status).toBe(401);
        expect((await api().get('/api/v1/users/me').set(auth(pair.accessToken))).status).toBe(401);
        expect(
          (await api().post('/api/v1/auth/refresh').send({ refreshToken: pair.refreshToken }))
            .status,
        ).toBe(401);
        expect((await login(current(), user.email, user.password)).status).toBe(401);
        expect((await login(current(), user.email, newPassword)).status).toBe(200);

        const again = await api()
          .post('/api/v1/auth/password-reset/confirm')
          .send({ token, newPassword: 'yet another passphrase' });
        expect(again.status).toBe(400);
        expect(again.body.type).toBe(`${PROBLEM}invalid-token`);
      });

      it('202 and no email for an unknown address, the same answer as for a known one', async () => {
        const user = await createUser(current());
        const ghost = uniqueEmail('ghost');
        const known = await api().post('/api/v1/auth/password-reset').send({ email: user.email });
        const unknown = await api().post('/api/v1/auth/password-reset').send({ email: ghost });
        expect(unknown.status).toBe(known.status);
        expect(unknown.text).toBe(known.text);
        await current().services.mailer.idle();
        expect(smtp().mails.some((m) => m.to.includes(ghost))).toBe(false);
      });

      it('400 invalid-token for an expired token, an unknown one, and a verification token', async () => {
        const user = await createUser(current());
        const since = smtp().mails.length;
        await api().post('/api/v1/auth/password-reset').send({ email: user.email });
        const token = tokenFromLink(
          (await smtp().waitFor(user.email, since)).raw,
          '/reset-password',
        );
        const { database } = current();
        await database.transaction((tx) =>
          tx
            .update(database.t.emailTokens)
            .set({ expiresAt: new Date(Date.now() - 1000) })
            .where(eq(database.t.emailTokens.tokenHash, hashToken(token))),
        );
        const { token: verifyToken } = await registerAndCatch(current(), smtp());
        for (const candidate of [token, 'z'.repeat(43), verifyToken]) {
          const res = await api()
            .post('/api/v1/auth/password-reset/confirm')
            .send({ token: candidate, newPassword: 'a brand new passphrase 2026' });
          expect(res.status).toBe(400);
          expect(res.body.type).toBe(`${PROBLEM}invalid-token`);
        }
      });

      it('400 validation-error for a new password that is too short', async () => {
        const res = await api()
          .post('/api/v1/auth/password-reset/confirm')
          .send({ token: 'z'.repeat(43), newPassword: 'short' });
        expect(res.status).toBe(400);
        expect(res.body.type).toBe(`${PROBLEM}validation-error`);
      });
    });
  },
  env,
);

describeEachDatabase(
  'authentication with REQUIRE_EMAIL_VERIFICATION=true',
  (current) => {
    it('403 email-not-verified for the right password until the email is verified', async () => {
      const { user, token } = await registerAndCatch(current(), smtp());
      const blocked = await login(current(), user.email);
      expect(blocked.status).toBe(403);
      expect(blocked.body.type).toBe(`${PROBLEM}email-not-verified`);

      const wrong = await login(current(), user.email, 'not the password at all');
      expect(wrong.status).toBe(401);
      expect(wrong.body.type).toBe(`${PROBLEM}invalid-credentials`);

      expect(
        (await current().request().post('/api/v1/auth/verify-email').send({ token })).status,
      ).toBe(204);
      expect((await login(current(), user.email)).status).toBe(200);
    });
  },
  verifyingEnv,
);

describeEachDatabase(
  'authentication with the mail server down',
  (current) => {
    it('still creates the account; the failure is logged, not returned', async () => {
      const email = uniqueEmail('offline');
      const res = await current()
        .request()
        .post('/api/v1/auth/register')
        .send({ email, password: PASSWORD, name: 'Offline' });
      expect(res.status).toBe(201);
      await current().services.mailer.idle();
      expect((await login(current(), email)).status).toBe(200);
      const resend = await current()
        .request()
        .post('/api/v1/auth/verify-email/resend')
        .send({ email });
      expect(resend.status).toBe(202);
      await current().services.mailer.idle();
    });
  },
  // Port 1 on loopback: nothing listens, the connection is refused at once.
  { SMTP_URL: 'smtp://127.0.0.1:1' },
);

describeEachDatabase(
  'the first admin from ADMIN_EMAIL',
  (current) => {
    it('exists at start as a verified, active admin, once, however often start-up runs', async () => {
      await Promise.all([current().services.startup(), current().services.startup()]);
      const res = await login(current(), 'root@example.com', 'an admin passphrase 1');
      expect(res.status).toBe(200);
      const list = await current()
        .request()
        .get('/api/v1/users')
        .query({ role: 'admin' })
        .set(auth(res.body.accessToken));
      expect(list.status).toBe(200);
      expect(list.body.items).toHaveLength(1);
      expect(list.body.items[0]).toMatchObject({
        email: 'root@example.com',
        role: 'admin',
        status: 'active',
        emailVerified: true,
      });
    });
  },
  { ADMIN_EMAIL: 'Root@Example.com', ADMIN_PASSWORD: 'an admin passphrase 1' },
);
