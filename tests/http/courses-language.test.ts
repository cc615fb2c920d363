import { describeEachDatabase } from '../helpers/app';
import { walkPages } from '../helpers/pages';
import { bearer, createUser, type TestUser } from '../helpers/users';

const COURSES = '/api/v1/courses';

interface Listed {
  id: string;
  title: string;
  language: string;
  createdAt: string;
}

const titles = (items: Listed[]) => items.map((c) => c.title).sort();

describeEachDatabase('listCourses: the language filter', (t) => {
  let owner: TestUser;
  const created: Listed[] = [];

  const create = async (body: Record<string, unknown>) => {
    const res = await t()
      .request()
      .post(COURSES)
      .set(bearer(owner))
      .send({ description: 'x', status: 'published', ...body });
    expect(res.status).toBe(201);
    created.push(res.body as Listed);
    return res.body as Listed;
  };
  const list = (query: string) => t().request().get(`${COURSES}${query}`);
  /** Every page, following `Link`, checking it agrees with `nextCursor`. */
  const walk = (query: string) => walkPages<Listed>(t(), `${COURSES}${query}`);
  /** The titles of every course the query lists, in any order. */
  const found = async (query: string) => titles((await walk(query)).items);

  const FRENCH = [
    'Cuisine fr',
    'Histoire fr',
    'Poésie fr',
    'Cuisine fr-CA',
    'Hockey fr-CA',
    'Cuisine fr-CA-1994',
    'Cinéma fr-FR',
  ].sort();

  beforeAll(async () => {
    owner = await createUser(t(), { role: 'instructor' });
    const courses: [string, string][] = [
      ['Cuisine en', 'en'],
      ['Poetry en-US', 'en-US'],
      ['Cuisine fr', 'fr'],
      ['Histoire fr', 'fr'],
      ['Cuisine fr-CA', 'fr-CA'],
      // Stored in its canonical case.
      ['Hockey fr-CA', 'FR-ca'],
      ['Poésie fr', 'fr'],
      ['Cuisine fr-CA-1994', 'fr-CA-1994'],
      ['Cinéma fr-FR', 'fr-FR'],
      // North Frisian: `fr` is no prefix of `frr`.
      ['Friesisch frr', 'frr'],
      ['Culinária pt-BR', 'pt-BR'],
      ['Culinária pt', 'pt'],
      ['Cocina es', 'es'],
    ];
    for (const [title, language] of courses) await create({ title, language });
    // Not published: never in the default listing, whatever its language.
    await create({ title: 'Brouillon fr', language: 'fr', status: 'draft' });
  });

  it('stores tags in canonical case', () => {
    expect(created.find((c) => c.title === 'Hockey fr-CA')?.language).toBe('fr-CA');
  });

  it('matches a primary language as a prefix: `fr` finds fr, fr-CA, fr-FR, not en or frr', async () => {
    expect(await found('?language=fr&limit=100')).toEqual(FRENCH);
    expect(await found('?language=pt')).toEqual(['Culinária pt', 'Culinária pt-BR']);
    expect(await found('?language=en')).toEqual(['Cuisine en', 'Poetry en-US']);
    expect(await found('?language=frr')).toEqual(['Friesisch frr']);
    expect(await found('?language=de')).toEqual([]);
  });

  it('matches a longer tag and its extensions only: `fr-CA` finds fr-CA and fr-CA-1994', async () => {
    const canadian = ['Cuisine fr-CA', 'Cuisine fr-CA-1994', 'Hockey fr-CA'];
    expect(await found('?language=fr-CA')).toEqual(canadian);
    expect(await found('?language=fr-CA-1994')).toEqual(['Cuisine fr-CA-1994']);
    expect(await found('?language=pt-BR')).toEqual(['Culinária pt-BR']);
    expect(await found('?language=fr-BE')).toEqual([]);
    // Neither a shorter tag nor one that merely starts with the same letters.
    expect(await found('?language=fr-C1')).toEqual([]);
  });

  it('ignores case', async () => {
    expect(await found('?language=FR')).toEqual(FRENCH);
    expect(await found('?language=fR-ca')).toEqual(await found('?language=fr-CA'));
    expect(await found('?language=PT-br')).toEqual(['Culinária pt-BR']);
  });

  it.each(['-createdAt', 'createdAt', 'title', '-title'])(
    'pages through a filtered list, sort %s, every match once',
    async (sort) => {
      const { items, pages } = await walk(`?language=fr&sort=${sort}&limit=2`);
      expect(pages).toBe(Math.ceil(FRENCH.length / 2));
      expect(new Set(items.map((c) => c.id)).size).toBe(FRENCH.length);
      expect(titles(items)).toEqual(FRENCH);
      const oneGo = (await list(`?language=fr&sort=${sort}&limit=100`)).body.items as Listed[];
      expect(items.map((c) => c.id)).toEqual(oneGo.map((c) => c.id));
      const canadian = await walk(`?language=fr-CA&sort=${sort}&limit=1`);
      expect(canadian.items).toHaveLength(3);
    },
  );

  it('rejects a cursor of another language, or of none; one of another case is the same', async () => {
    const { body } = await list('?language=fr&limit=2');
    expect(body.nextCursor).toEqual(expect.any(String));
    for (const query of ['?language=es', '?language=fr-CA', '']) {
      const other = await list(`${query}${query ? '&' : '?'}cursor=${body.nextCursor}`);
      expect(other.status).toBe(400);
      expect(other.body.errors).toEqual([{ path: 'query.cursor', message: expect.any(String) }]);
    }
    const none = (await list('?limit=2')).body.nextCursor as string;
    expect((await list(`?language=fr&cursor=${none}`)).status).toBe(400);
    const same = await list(`?language=FR&limit=2&cursor=${body.nextCursor}`);
    expect(same.status).toBe(200);
    expect(same.body.items).toHaveLength(2);
  });

  it('combines with a title search and with sort=title', async () => {
    expect(await found('?language=fr&q=cuisine&limit=1')).toEqual([
      'Cuisine fr',
      'Cuisine fr-CA',
      'Cuisine fr-CA-1994',
    ]);
    const byTitle = await walk('?language=fr-CA&q=CUISINE&sort=title&limit=1');
    expect(byTitle.items.map((c) => c.title)).toEqual(['Cuisine fr-CA', 'Cuisine fr-CA-1994']);
    // A term too short to look up by word: the bounded walk, on both databases.
    const short = await walk('?language=fr&q=is&sort=-title&limit=1');
    expect(short.items.map((c) => c.title)).toEqual([
      'Histoire fr',
      'Cuisine fr-CA-1994',
      'Cuisine fr-CA',
      'Cuisine fr',
    ]);
    expect(await found('?language=en&q=cuisine')).toEqual(['Cuisine en']);
    expect(await found('?language=pt&q=cuisine')).toEqual([]);
  });

  it('rejects a malformed language', async () => {
    const bad = [
      'f',
      'fr_CA',
      'fr-',
      'fr--CA',
      '-fr',
      'x-private',
      '12',
      'fr-C',
      'fr%',
      'a'.repeat(36),
    ];
    for (const language of bad) {
      const res = await list(`?language=${encodeURIComponent(language)}`);
      expect(res.status).toBe(400);
      const paths = (res.body.errors as { path: string }[]).map((e) => e.path);
      expect(new Set(paths)).toEqual(new Set(['query.language']));
    }
  });

  it('moves a course between filters when updateCourse changes its language', async () => {
    const course = await create({ title: 'Moving', language: 'en' });
    expect(await found('?language=en')).toContain('Moving');
    const res = await t().request().put(`${COURSES}/${course.id}`).set(bearer(owner)).send({
      title: 'Moving',
      description: 'x',
      category: null,
      level: null,
      language: 'PT-br',
      status: 'published',
      capacity: null,
    });
    expect(res.status).toBe(200);
    expect(res.body.language).toBe('pt-BR');
    expect(await found('?language=en')).not.toContain('Moving');
    expect(await found('?language=pt')).toContain('Moving');
    expect(await found('?language=pt-BR')).toContain('Moving');
    expect((await list(`/${course.id}`)).body.language).toBe('pt-BR');
  });
});
