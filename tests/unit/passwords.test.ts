import { createPasswordHasher } from '../../src/services/passwords';
import { emails } from '../../src/services/mailer';

describe('password hashing', () => {
  const hasher = createPasswordHasher();

  it('uses argon2id at OWASP cost or above, and verifies', async () => {
    const hash = await hasher.hash('correct horse battery');
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
    expect(await hasher.verify(hash, 'correct horse battery')).toBe(true);
    expect(await hasher.verify(hash, 'wrong horse battery')).toBe(false);
  });

  it('is false, not an error, for a hash that does not parse (a deleted account)', async () => {
    expect(await hasher.verify('!', 'anything at all')).toBe(false);
  });

  it('verifyNothing always fails, after a real verification', async () => {
    await hasher.warmUp();
    expect(await hasher.verifyNothing('anything at all')).toBe(false);
  });
});

describe('emails', () => {
  it('carry the link in text and HTML, with the name escaped in HTML', () => {
    const mail = emails.passwordReset('https://app.example', 'a@example.com', '<Ada>', 'tok_en-1');
    expect(mail.text).toContain('https://app.example/reset-password?token=tok_en-1');
    expect(mail.html).toContain('href="https://app.example/reset-password?token=tok_en-1"');
    expect(mail.html).toContain('&#60;Ada&#62;');
    expect(mail.html).not.toContain('<Ada>');
  });
});
