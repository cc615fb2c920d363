import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';

export interface CaughtMail {
  to: string[];
  raw: string;
}

/**
 * A real SMTP server on loopback that keeps every message it receives, so tests see exactly what
 * a mail server would. No TLS and no auth: the mailer talks plain SMTP to loopback hosts.
 */
export async function startSmtpCatcher() {
  const mails: CaughtMail[] = [];
  const waiters: (() => void)[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        waiters.splice(0).forEach((wake) => wake());
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;

  /** The latest mail to `to` after `since` mails, waiting for it to arrive (up to 5 s). */
  async function waitFor(to: string, since = 0): Promise<CaughtMail> {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const found = mails
        .slice(since)
        .reverse()
        .find((m) => m.to.includes(to.toLowerCase()));
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no mail to ${to} arrived`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }

  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    waitFor,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type SmtpCatcher = Awaited<ReturnType<typeof startSmtpCatcher>>;

/** Decodes quoted-printable soft breaks and `=3D`, then finds the token of the link to `path`. */
export function tokenFromLink(raw: string, path: '/verify-email' | '/reset-password'): string {
  const text = raw.replace(/=\r?\n/g, '').replace(/=3D/gi, '=');
  const match = new RegExp(`https?://[^\\s"<>]+${path}\\?token=([A-Za-z0-9_%-]+)`).exec(text);
  if (!match?.[1]) throw new Error(`no ${path} link in the mail`);
  return decodeURIComponent(match[1]);
}

/**
 * Starts a catcher for the test file and points each env's SMTP_URL at it before any app is built
 * (a top-level beforeAll runs before the beforeAll of describeEachDatabase).
 */
export function catchMailFor(...envs: Record<string, string>[]): () => SmtpCatcher {
  let catcher: SmtpCatcher | undefined;
  beforeAll(async () => {
    catcher = await startSmtpCatcher();
    for (const env of envs) env.SMTP_URL = catcher.url;
  });
  afterAll(async () => {
    await catcher?.stop();
  });
  return () => {
    if (!catcher) throw new Error('the SMTP catcher is not started yet');
    return catcher;
  };
}

/**
 * The subject and the decoded source of a caught mail: RFC 2047 encoded words in the subject,
 * quoted-printable (soft breaks and `=XX` bytes, as UTF-8) in the rest, so tests can read
 * non-ASCII texts as written.
 */
export function readMail(raw: string): { subject: string; body: string } {
  const unfolded = raw.replace(/\r?\n[ \t]+/g, ' ');
  const subjectLine = /^Subject: (.*)$/im.exec(unfolded)?.[1] ?? '';
  const subject = subjectLine
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?UTF-8\?([QB])\?([^?]*)\?=/gi, (_, encoding: string, text: string) =>
      encoding.toUpperCase() === 'B'
        ? Buffer.from(text, 'base64').toString('utf8')
        : decodeQuotedPrintable(text.replace(/_/g, ' ')),
    );
  return { subject, body: decodeQuotedPrintable(raw.replace(/=\r?\n/g, '')) };
}

function decodeQuotedPrintable(text: string): string {
  return Buffer.from(
    text.replace(/=([0-9A-F]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))),
    'latin1',
  ).toString('utf8');
}
