import { hkdfSync, randomBytes } from 'node:crypto';
import { loadConfig } from '../../src/config';
import { createSecretBox, secretBoxKey } from '../../src/services/secret-box';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;

describe('createSecretBox', () => {
  const box = createSecretBox(randomBytes(32));

  it('opens what it sealed, and never shows the plain text', () => {
    const sealed = box.seal(SECRET);
    expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain('whsec_');
    expect(sealed).not.toContain(SECRET.slice(6, 20));
    expect(box.open(sealed)).toBe(SECRET);
    expect(box.open(box.seal(''))).toBe('');
    expect(box.open(box.seal('é漢\u{1F600}'))).toBe('é漢\u{1F600}');
  });

  it('seals the same text differently each time (a fresh IV)', () => {
    const a = box.seal(SECRET);
    const b = box.seal(SECRET);
    expect(a).not.toBe(b);
    expect(box.open(a)).toBe(box.open(b));
  });

  it('detects any change to the sealed text', () => {
    const packed = Buffer.from(box.seal(SECRET).slice(3), 'base64url');
    // Every byte: the IV, the tag and the ciphertext are all covered.
    for (let i = 0; i < packed.length; i++) {
      const tampered = Buffer.from(packed);
      tampered[i] = tampered[i]! ^ 0x01;
      expect(() => box.open(`v1.${tampered.toString('base64url')}`)).toThrow(/cannot be opened/);
    }
    const truncated = packed.subarray(0, packed.length - 1).toString('base64url');
    expect(() => box.open(`v1.${truncated}`)).toThrow();
  });

  it('does not open what another key sealed', () => {
    const other = createSecretBox(randomBytes(32));
    expect(() => other.open(box.seal(SECRET))).toThrow(/cannot be opened/);
  });

  it('refuses text that is not a sealed secret', () => {
    for (const text of ['', SECRET, 'v1', 'v1.', 'v2.AAAA', 'v1.AAAA', `v1.${'A'.repeat(40)}.x`]) {
      expect(() => box.open(text)).toThrow();
    }
  });

  it('takes 32-byte keys only', () => {
    expect(() => createSecretBox(randomBytes(16))).toThrow(/32-byte/);
  });
});

describe('secretBoxKey', () => {
  const JWT_SECRET = 'a-jwt-secret-that-is-at-least-32-bytes-long';
  const WEBHOOK_SECRET_KEY = 'a-webhook-secret-key-of-at-least-32-bytes!';
  const hkdf = (material: string) =>
    Buffer.from(hkdfSync('sha256', material, Buffer.alloc(0), 'opencourse webhook secrets', 32));

  it('derives the key from WEBHOOK_SECRET_KEY with HKDF-SHA256 when it is set', () => {
    const key = secretBoxKey(loadConfig({ JWT_SECRET, WEBHOOK_SECRET_KEY }));
    expect(key).toHaveLength(32);
    expect(key.equals(hkdf(WEBHOOK_SECRET_KEY))).toBe(true);
  });

  it('derives it from JWT_SECRET otherwise, under its own label', () => {
    const key = secretBoxKey(loadConfig({ JWT_SECRET }));
    expect(key.equals(hkdf(JWT_SECRET))).toBe(true);
    // Not the secret itself, nor the key of another purpose derived from it.
    expect(key.equals(Buffer.from(JWT_SECRET).subarray(0, 32))).toBe(false);
  });

  it('gives the same key for the same configuration, so sealed secrets survive a restart', () => {
    const sealed = createSecretBox(secretBoxKey(loadConfig({ JWT_SECRET }))).seal(SECRET);
    expect(createSecretBox(secretBoxKey(loadConfig({ JWT_SECRET }))).open(sealed)).toBe(SECRET);
  });

  it('makes secrets sealed under another variable unreadable (the documented cost of a change)', () => {
    const sealed = createSecretBox(secretBoxKey(loadConfig({ JWT_SECRET }))).seal(SECRET);
    const withKey = createSecretBox(secretBoxKey(loadConfig({ JWT_SECRET, WEBHOOK_SECRET_KEY })));
    expect(() => withKey.open(sealed)).toThrow();
    const rotatedJwt = createSecretBox(secretBoxKey(loadConfig({ JWT_SECRET: `${JWT_SECRET}!` })));
    expect(() => rotatedJwt.open(sealed)).toThrow();
  });
});
