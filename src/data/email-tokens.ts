import { randomUUID } from 'node:crypto';
import { and, eq, gt, isNull } from 'drizzle-orm';
import type { Database, Db } from './database';

export type EmailTokenPurpose = 'verify-email' | 'reset-password';

export function createEmailTokenStore({ db, t }: Database) {
  /** A token that may still be spent: this hash, this purpose, unused and unexpired. */
  const live = (purpose: EmailTokenPurpose, tokenHash: string, now: Date) =>
    and(
      eq(t.emailTokens.tokenHash, tokenHash),
      eq(t.emailTokens.purpose, purpose),
      isNull(t.emailTokens.usedAt),
      gt(t.emailTokens.expiresAt, now),
    );

  return {
    /**
     * Stores a new token's hash. Older unused tokens of the same purpose are spent at the same
     * time: only the latest email works, so a leaked older one is worth nothing.
     */
    async issue(
      tx: Db,
      token: { userId: string; purpose: EmailTokenPurpose; tokenHash: string; expiresAt: Date },
    ): Promise<void> {
      const now = new Date();
      await tx
        .update(t.emailTokens)
        .set({ usedAt: now })
        .where(
          and(
            eq(t.emailTokens.userId, token.userId),
            eq(t.emailTokens.purpose, token.purpose),
            isNull(t.emailTokens.usedAt),
          ),
        );
      await tx.insert(t.emailTokens).values({ id: randomUUID(), createdAt: now, ...token });
    },

    /**
     * Spends a live token: one conditional update, so of two concurrent uses only one wins.
     * The user id it was issued to, or undefined when unknown, expired, spent or of another purpose.
     */
    async consume(
      tx: Db,
      purpose: EmailTokenPurpose,
      tokenHash: string,
    ): Promise<string | undefined> {
      const now = new Date();
      const [row] = await tx
        .update(t.emailTokens)
        .set({ usedAt: now })
        .where(live(purpose, tokenHash, now))
        .returning({ userId: t.emailTokens.userId });
      return row?.userId;
    },

    /** Whether a token could be spent now, without spending it: a check before costly work. */
    async isLive(purpose: EmailTokenPurpose, tokenHash: string): Promise<boolean> {
      const rows = await db
        .select({ id: t.emailTokens.id })
        .from(t.emailTokens)
        .where(live(purpose, tokenHash, new Date()))
        .limit(1);
      return rows.length > 0;
    },
  };
}

export type EmailTokenStore = ReturnType<typeof createEmailTokenStore>;
