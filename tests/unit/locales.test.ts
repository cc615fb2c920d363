import { templateLocales, templatesFor } from '../../src/emails';
import { canonicalLocale, negotiateLocale, requireLocale } from '../../src/services/locales';
import { primaryLanguageOf } from '../../src/domain';
import { HttpProblem } from '../../src/errors';

const AVAILABLE = ['en', 'fr'];

describe('canonicalLocale', () => {
  it('puts a well-formed tag in its canonical case', () => {
    expect(canonicalLocale('PT-br')).toBe('pt-BR');
    expect(canonicalLocale('fr-ca')).toBe('fr-CA');
    expect(canonicalLocale('EN')).toBe('en');
    expect(canonicalLocale('zh-hant-tw')).toBe('zh-Hant-TW');
  });

  it('is undefined for tags that are not well-formed, or too long', () => {
    for (const bad of [
      '',
      'e',
      'en_US',
      'fr--CA',
      '123',
      'en-',
      '*',
      'toolongtag',
      'a'.repeat(40),
    ]) {
      expect(canonicalLocale(bad)).toBeUndefined();
    }
    expect(canonicalLocale(`en-${'abcdefgh-'.repeat(4)}x`)).toBeUndefined();
  });

  it('requireLocale answers 400 at body.locale for a malformed tag', () => {
    expect(requireLocale('PT-br')).toBe('pt-BR');
    let thrown: unknown;
    try {
      requireLocale('en_US');
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(HttpProblem);
    expect((thrown as HttpProblem).status).toBe(400);
    expect((thrown as HttpProblem).extra.errors).toEqual([
      { path: 'body.locale', message: expect.any(String) },
    ]);
  });

  it('primaryLanguageOf is the first subtag, lower case', () => {
    expect(primaryLanguageOf('fr-CA')).toBe('fr');
    expect(primaryLanguageOf('PT-br')).toBe('pt');
    expect(primaryLanguageOf('en')).toBe('en');
  });
});

describe('negotiateLocale', () => {
  it('keeps the client tag of highest quality whose language has templates', () => {
    expect(negotiateLocale('fr-CA,fr;q=0.9,en;q=0.5', AVAILABLE)).toBe('fr-CA');
    expect(negotiateLocale('en;q=0.5,fr;q=0.9', AVAILABLE)).toBe('fr');
    expect(negotiateLocale('de,fr-BE;q=0.8,en;q=0.7', AVAILABLE)).toBe('fr-BE');
    expect(negotiateLocale('de;q=1,en-GB;q=0.3', AVAILABLE)).toBe('en-GB');
  });

  it('puts tags in canonical case', () => {
    expect(negotiateLocale('FR-ca', AVAILABLE)).toBe('fr-CA');
    expect(negotiateLocale('PT-br,fr;q=0.1', ['en', 'fr', 'pt'])).toBe('pt-BR');
  });

  it('skips q=0, `*` and unknown languages, falling back to en', () => {
    expect(negotiateLocale('fr;q=0,de', AVAILABLE)).toBe('en');
    expect(negotiateLocale('*', AVAILABLE)).toBe('en');
    expect(negotiateLocale('*,fr;q=0.5', AVAILABLE)).toBe('fr');
    expect(negotiateLocale('xx', AVAILABLE)).toBe('en');
    expect(negotiateLocale(undefined, AVAILABLE)).toBe('en');
    expect(negotiateLocale('', AVAILABLE)).toBe('en');
  });

  it('skips malformed entries and survives garbage', () => {
    expect(negotiateLocale('en_US!!,fr;q=0.4', AVAILABLE)).toBe('fr');
    expect(negotiateLocale('fr;q=abc,,;;,=,', AVAILABLE)).toMatch(/^(fr|en)$/);
    expect(negotiateLocale(';q=1, ,\t,fr--CA', AVAILABLE)).toBe('en');
    expect(negotiateLocale('\u00e9\u00e8,\u0000fr', AVAILABLE)).toBe('en');
  });

  it('handles a 1,000-character header', () => {
    const junk = 'x'.repeat(1000);
    expect(negotiateLocale(junk, AVAILABLE)).toBe('en');
    const many = Array.from({ length: 200 }, (_, i) => `zz${i % 10};q=0.${i % 9}`).join(',');
    const header = `${many},fr-CA;q=0.95`.slice(-1000);
    expect(header.length).toBe(1000);
    expect(negotiateLocale(header, AVAILABLE)).toBe('fr-CA');
  });
});

describe('email templates', () => {
  it('lists the locales of the template folder', () => {
    expect([...templateLocales].sort()).toEqual(['en', 'fr']);
  });

  it('chooses the exact tag, then the language, then English', () => {
    expect(templatesFor('fr').verification.subject).toMatch(/Confirmez/);
    expect(templatesFor('fr-CA').verification.subject).toMatch(/Confirmez/);
    expect(templatesFor('FR-ca').passwordReset.subject).toMatch(/Réinitialisez/);
    expect(templatesFor('de-AT').verification.subject).toBe('Confirm your email address');
    expect(templatesFor('en-GB').greeting('Ada')).toBe('Hello Ada,');
  });
});
