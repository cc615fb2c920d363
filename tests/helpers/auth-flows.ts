import { randomUUID } from 'node:crypto';
import type { TestApp } from './app';
import type { SmtpCatcher } from './smtp';
import { tokenFromLink } from './smtp';

export const PASSWORD = 'a perfectly long passphrase 1';

export const uniqueEmail = (prefix = 'user') => `${prefix}-${randomUUID()}@example.com`;

/** Registers through the API and returns the account and the token of its verification email. */
export async function registerAndCatch(t: TestApp, smtp: SmtpCatcher, email = uniqueEmail()) {
  const since = smtp.mails.length;
  const res = await t
    .request()
    .post('/api/v1/auth/register')
    .send({ email, password: PASSWORD, name: 'Ada' });
  if (res.status !== 201)
    throw new Error(`register gave ${res.status}: ${JSON.stringify(res.body)}`);
  const mail = await smtp.waitFor(email, since);
  return {
    user: res.body as { id: string; email: string },
    token: tokenFromLink(mail.raw, '/verify-email'),
    mail,
  };
}

export async function login(t: TestApp, email: string, password = PASSWORD) {
  return t.request().post('/api/v1/auth/login').send({ email, password });
}

/** Logs in and returns the pair; throws when the login fails. */
export async function tokensFor(t: TestApp, email: string, password = PASSWORD) {
  const res = await login(t, email, password);
  if (res.status !== 200) throw new Error(`login gave ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body as { accessToken: string; refreshToken: string };
}

export const auth = (accessToken: string) => ({ Authorization: `Bearer ${accessToken}` });
