import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { Config } from '../config';

/** Seals short secrets for storage, and opens them again: AES-256-GCM, authenticated. */
export interface SecretBox {
  seal(plain: string): string;
  /** Throws when `sealed` was not sealed with this key, or was changed since. */
  open(sealed: string): string;
}

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HKDF_INFO = 'opencourse webhook secrets';

/**
 * The box's key: HKDF-SHA256 of WEBHOOK_SECRET_KEY, or of JWT_SECRET when that is not set (the
 * `info` keeps it apart from every other key taken from JWT_SECRET). Either way, changing the
 * variable makes the secrets sealed before unreadable.
 */
export function secretBoxKey(config: Pick<Config, 'webhookSecretKey' | 'jwtSecret'>): Buffer {
  const material = config.webhookSecretKey ?? config.jwtSecret;
  return Buffer.from(hkdfSync('sha256', material, Buffer.alloc(0), HKDF_INFO, 32));
}

/**
 * Sealed text is `v1.` and the base64url of the IV, the GCM tag and the ciphertext: the version
 * leaves room for another key or cipher later.
 */
export function createSecretBox(key: Buffer): SecretBox {
  if (key.length !== 32) throw new Error('a secret box needs a 32-byte key');
  return {
    seal(plain: string): string {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const encrypted = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      const packed = Buffer.concat([iv, cipher.getAuthTag(), encrypted]);
      return `${VERSION}.${packed.toString('base64url')}`;
    },
    open(sealed: string): string {
      const [version, data, extra] = sealed.split('.');
      if (version !== VERSION || data === undefined || extra !== undefined) {
        throw new Error('not a sealed secret');
      }
      const packed = Buffer.from(data, 'base64url');
      if (packed.length < IV_BYTES + TAG_BYTES) throw new Error('not a sealed secret');
      const decipher = createDecipheriv('aes-256-gcm', key, packed.subarray(0, IV_BYTES), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAuthTag(packed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      try {
        const plain = Buffer.concat([
          decipher.update(packed.subarray(IV_BYTES + TAG_BYTES)),
          decipher.final(),
        ]);
        return plain.toString('utf8');
      } catch {
        // GCM's check failed: another key (WEBHOOK_SECRET_KEY or JWT_SECRET changed) or tampering.
        throw new Error('a sealed secret cannot be opened: another key, or changed since');
      }
    },
  };
}
