import Negotiator from 'negotiator';
import { problems } from '../errors';
import { canonicalLocale, primaryLanguageOf } from '../domain';

export { canonicalLocale };

/** Every account's locale unless it asks for another, and the language every email falls back to. */
export const DEFAULT_LOCALE = 'en';

/** The canonical form of a locale a client sent in a body, or a 400 naming `path`. */
export function requireLocale(tag: string, path = 'body.locale'): string {
  const canonical = canonicalLocale(tag);
  if (canonical === undefined) {
    throw problems.badRequest('The locale is not a well-formed BCP 47 language tag.', [
      { path, message: 'must be a well-formed BCP 47 language tag, such as en, fr or pt-BR' },
    ]);
  }
  return canonical;
}

/**
 * The locale for a client that sent `acceptLanguage`: its well-formed tag of highest quality
 * whose exact tag or language is in `available`, kept as the client sent it (canonical case), so
 * `fr-CA` stays `fr-CA` when only `fr` is available. `en` when none qualifies, the header is
 * absent or malformed. Negotiator parses the header (quality values, q=0 excluded, `*`).
 */
export function negotiateLocale(
  acceptLanguage: string | undefined,
  available: readonly string[],
): string {
  if (!acceptLanguage) return DEFAULT_LOCALE;
  const offered = new Set(available.map((tag) => tag.toLowerCase()));
  const wanted = new Negotiator({ headers: { 'accept-language': acceptLanguage } }).languages();
  for (const tag of wanted) {
    const canonical = canonicalLocale(tag);
    if (canonical === undefined) continue;
    const lower = canonical.toLowerCase();
    if (offered.has(lower) || offered.has(primaryLanguageOf(lower))) return canonical;
  }
  return DEFAULT_LOCALE;
}
