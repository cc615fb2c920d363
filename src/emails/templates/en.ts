import type { EmailTemplates } from '../index';

/** English: every email's fallback. */
const en: EmailTemplates = {
  greeting: (name) => `Hello ${name},`,
  verification: {
    subject: 'Confirm your email address',
    intro: 'Please confirm your email address by opening this link:',
    outro:
      'The link works once, for 24 hours. If you did not create an account, ignore this email.',
  },
  passwordReset: {
    subject: 'Reset your password',
    intro:
      'Someone asked to reset the password of your account. To choose a new one, open this link:',
    outro: 'The link works once, for 1 hour. If you did not ask for this, ignore this email.',
  },
};

export default en;
