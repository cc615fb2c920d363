import type { Transporter } from 'nodemailer';
import type { Config } from '../config';
import { templatesFor } from '../emails';
import { logger } from '../logger';
import type { Metrics } from '../observability/metrics';

export interface Mail {
  to: string;
  subject: string;
  text: string;
  html: string;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function linkMail(
  to: string,
  name: string,
  locale: string,
  kind: 'verification' | 'passwordReset',
  link: string,
): Mail {
  const texts = templatesFor(locale);
  const { subject, intro, outro } = texts[kind];
  const greeting = texts.greeting(name);
  return {
    to,
    subject,
    text: `${greeting}\n\n${intro}\n\n${link}\n\n${outro}\n`,
    html:
      `<p>${escapeHtml(greeting)}</p><p>${escapeHtml(intro)}</p>` +
      `<p><a href="${escapeHtml(link)}">${escapeHtml(link)}</a></p><p>${escapeHtml(outro)}</p>`,
  };
}

/** Who an email goes to: its texts are in the recipient's locale (see src/emails). */
export interface Recipient {
  email: string;
  name: string;
  locale: string;
}

/** The emails this API sends, with their links to the web app; the links do not vary by locale. */
export const emails = {
  verification: (baseUrl: string, to: Recipient, token: string) =>
    linkMail(
      to.email,
      to.name,
      to.locale,
      'verification',
      `${baseUrl}/verify-email?token=${encodeURIComponent(token)}`,
    ),
  passwordReset: (baseUrl: string, to: Recipient, token: string) =>
    linkMail(
      to.email,
      to.name,
      to.locale,
      'passwordReset',
      `${baseUrl}/reset-password?token=${encodeURIComponent(token)}`,
    ),
};

/**
 * Sends email over SMTP_URL, or writes it to the log when there is none (development only:
 * configuration requires SMTP_URL in production). Sending happens after the response: a mail
 * server that is slow or down never fails or delays the request; the failure is logged and the
 * user can ask again.
 */
export function createMailer(config: Config, metrics: Metrics) {
  let transport: Transporter | undefined;
  /** The SMTP transport, made with the first email (nodemailer is loaded only then). */
  function transportTo(smtpUrl: string): Transporter {
    if (transport) return transport;
    const host = new URL(smtpUrl).hostname;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const nodemailer = require('nodemailer') as typeof import('nodemailer');
    return (transport = nodemailer.createTransport({
      url: smtpUrl,
      // A server on loopback is a local relay or a test catcher: no TLS to negotiate. Elsewhere,
      // smtp:// upgrades with STARTTLS when offered and smtps:// is TLS from the start.
      ignoreTLS: LOOPBACK.has(host),
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 20_000,
    }));
  }
  const pending = new Set<Promise<void>>();

  async function deliver(mail: Mail): Promise<void> {
    if (!config.smtpUrl) {
      logger.info(`email (no SMTP_URL set) to ${mail.to}: ${mail.subject}\n${mail.text}`);
      metrics.emails.inc({ result: 'logged' });
      return;
    }
    try {
      await transportTo(config.smtpUrl).sendMail({ from: config.mailFrom, ...mail });
      metrics.emails.inc({ result: 'sent' });
    } catch (err) {
      metrics.emails.inc({ result: 'failed' });
      logger.error(
        `email "${mail.subject}" to ${mail.to} could not be sent: ${(err as Error).message}`,
      );
    }
  }

  const idle = async () => void (await Promise.all([...pending]));

  return {
    send(mail: Mail): void {
      const sending = deliver(mail).finally(() => pending.delete(sending));
      pending.add(sending);
    },
    /** Resolves once every email handed over so far has been sent or has failed. */
    idle,
    async close(): Promise<void> {
      await idle();
      transport?.close();
    },
  };
}

export type Mailer = ReturnType<typeof createMailer>;
