import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { primaryLanguageOf } from '../domain';
import { DEFAULT_LOCALE, canonicalLocale } from '../services/locales';

/** The words of an email that carries a link; the link itself is not the template's. */
export interface LinkEmailTexts {
  subject: string;
  intro: string;
  outro: string;
}

/** One locale's texts: a file in ./templates named after its BCP 47 tag (`fr.ts`, `pt-BR.ts`). */
export interface EmailTemplates {
  greeting: (name: string) => string;
  verification: LinkEmailTexts;
  passwordReset: LinkEmailTexts;
}

const TEMPLATE_DIR = join(__dirname, 'templates');

/**
 * Every template file of the folder, keyed by its canonical tag: `.ts` under ts-node, tsx and
 * Jest, `.js` once built. Adding a language is adding a file.
 */
function loadTemplates(): Map<string, EmailTemplates> {
  const found = new Map<string, EmailTemplates>();
  for (const file of readdirSync(TEMPLATE_DIR).sort()) {
    const match = /^([^.]+)\.(?:ts|js)$/.exec(file);
    const tag = match?.[1] && canonicalLocale(match[1]);
    if (!tag) continue;
    // A dynamic require: the folder's files are not known until it is read.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const loaded = require(join(TEMPLATE_DIR, file)) as { default: EmailTemplates };
    found.set(tag.toLowerCase(), loaded.default);
  }
  return found;
}

const templates = loadTemplates();
const fallback: EmailTemplates =
  templates.get(DEFAULT_LOCALE) ??
  (() => {
    throw new Error(`no ${DEFAULT_LOCALE} email templates in ${TEMPLATE_DIR}`);
  })();

/** The locales the server has email templates for (canonical tags, lowercase). */
export const templateLocales: readonly string[] = [...templates.keys()];

/** The templates for `locale`: its exact tag, else its language, else English. */
export function templatesFor(locale: string): EmailTemplates {
  const lower = locale.toLowerCase();
  return templates.get(lower) ?? templates.get(primaryLanguageOf(lower)) ?? fallback;
}
