/**
 * Waits, when fewer than `needMs` are left of the current minute, for the next one to begin: the
 * per-minute limits count in fixed windows, and a test whose requests straddled two would see
 * its count start again halfway.
 */
export async function withinOneMinuteWindow(needMs: number): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < needMs) await new Promise((resolve) => setTimeout(resolve, left + 100));
}
