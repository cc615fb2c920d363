import argon2 from 'argon2';

/**
 * argon2id at OWASP's minimum cost (19 MiB, 2 passes, 1 lane). The argon2 package runs each hash
 * on libuv's thread pool, so hashing never blocks the event loop.
 */
export const HASH_OPTIONS = {
  type: argon2.argon2id,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} as const;

export function createPasswordHasher() {
  let dummy: Promise<string> | undefined;
  // A hash of nothing anyone knows, made once, to verify against when there is no account.
  const dummyHash = () => (dummy ??= argon2.hash(`no-account-${Math.random()}`, HASH_OPTIONS));

  return {
    hash: (password: string): Promise<string> => argon2.hash(password, HASH_OPTIONS),

    /** Whether `password` matches `hash`; false for a hash that does not parse (a deleted user). */
    async verify(hash: string, password: string): Promise<boolean> {
      try {
        return await argon2.verify(hash, password);
      } catch {
        return false;
      }
    },

    /**
     * Spends the same time as `verify` and always fails: an unknown email must cost what a wrong
     * password costs, so the timing tells nothing about which addresses have accounts.
     */
    async verifyNothing(password: string): Promise<false> {
      await argon2.verify(await dummyHash(), password).catch(() => false);
      return false;
    },

    /** Computes the dummy hash ahead of the first login that needs it. */
    async warmUp(): Promise<void> {
      await dummyHash();
    },
  };
}

export type PasswordHasher = ReturnType<typeof createPasswordHasher>;
