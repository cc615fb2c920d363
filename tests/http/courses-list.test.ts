import { describeEachDatabase } from '../helpers/app';
import { walkPages } from '../helpers/pages';
import { bearer, createUser, type TestUser } from '../helpers/users';

const COURSES = '/api/v1/courses';

interface Listed {
  id: string;
  title: string;
  status: string;
  createdAt: string;
  instructor: { id: string };
}

const ids = (items: Listed[]) => items.map((c) => c.id);
const byCreatedAt = (a: Listed, b: Listed) =>
  a.createdAt === b.createdAt ? (a.id < b.id ? -1 : 1) : a.createdAt < b.createdAt ? -1 : 1;

describeEachDatabase('listCourses: filters, visibility, keyset pages', (t) => {
  let ada: TestUser;
  let alan: TestUser;
  let student: TestUser;
  let admin: TestUser;
  const published: Listed[] = [];
  const drafts: Listed[] = [];
  const archived: Listed[] = [];

  const create = async (as: TestUser, body: Record<string, unknown>) => {
    const res = await t()
      .request()
      .post(COURSES)
      .set(bearer(as))
      .send({ description: 'x', ...body });
    expect(res.status).toBe(201);
    return res.body as Listed;
  };
  const list = (query: string, as?: TestUser) => {
    const req = t().request().get(`${COURSES}${query}`);
    return as ? req.set(bearer(as)) : req;
  };
  /** Every page, following `Link`, checking it agrees with `nextCursor`. */
  const walk = (query: string, as?: TestUser) => walkPages<Listed>(t(), `${COURSES}${query}`, as);

  beforeAll(async () => {
    ada = await createUser(t(), { role: 'instructor' });
    alan = await createUser(t(), { role: 'instructor' });
    student = await createUser(t(), { role: 'student' });
    admin = await createUser(t(), { role: 'admin' });
    const titles = [
      'Compilers',
      'Databases',
      'Networks',
      'Algebra',
      'Calculus',
      'Poetry',
      'Painting',
      'Chemistry',
      'Physics',
      'Biology',
      'Geology',
      'History',
      'Music',
      'Statistics',
      'Economics',
      'Law',
      'Ethics',
      'Logic',
      'Rhetoric',
      'Drawing',
      'Sculpture',
      'Astronomy',
    ];
    for (const [i, title] of titles.entries()) {
      const owner = i % 2 === 0 ? ada : alan;
      published.push(
        await create(owner, {
          title: `${String(i).padStart(2, '0')} ${title}`,
          status: 'published',
          category: i % 3 === 0 ? 'Science' : 'Arts',
          level: (['beginner', 'intermediate', 'advanced'] as const)[i % 3],
        }),
      );
    }
    // Characters that mean something to LIKE, and a quote, must be searched literally.
    published.push(await create(ada, { title: '100% Fun_Stuff', status: 'published' }));
    published.push(
      await create(alan, { title: "Ada's 100 Percent Funny Stuff", status: 'published' }),
    );
    drafts.push(
      await create(ada, { title: 'Ada draft' }),
      await create(alan, { title: 'Alan draft' }),
    );
    archived.push(await create(ada, { title: 'Ada archived', status: 'archived' }));
  });

  it('lists published courses only, newest first, 20 to a page by default', async () => {
    const res = await list('');
    expect(res.status).toBe(200);
    const expected = [...published].sort(byCreatedAt).reverse();
    expect(ids(res.body.items)).toEqual(ids(expected.slice(0, 20)));
    expect(res.body.nextCursor).toEqual(expect.any(String));
    expect(res.headers.link).toContain('rel="next"');
  });

  it.each(['-createdAt', 'createdAt', 'title', '-title'])(
    'pages through sort %s with no item skipped or repeated',
    async (sort) => {
      const { items, pages } = await walk(`?sort=${sort}&limit=5`);
      expect(pages).toBe(Math.ceil(published.length / 5));
      const oneGo = (await list(`?sort=${sort}&limit=100`)).body.items as Listed[];
      expect(ids(items)).toEqual(ids(oneGo));
      expect(new Set(ids(items)).size).toBe(published.length);
      const expected = [...published];
      if (sort.endsWith('createdAt')) expected.sort(byCreatedAt);
      else expected.sort((a, b) => (a.title === b.title ? 0 : a.title < b.title ? -1 : 1));
      if (sort.startsWith('-')) expected.reverse();
      // Titles that start with digits and one letter case sort the same in any collation.
      const numbered = (l: Listed[]) => ids(l.filter((c) => /^\d\d /.test(c.title)));
      expect(numbered(items)).toEqual(numbered(expected));
      if (sort.endsWith('createdAt')) expect(ids(items)).toEqual(ids(expected));
    },
  );

  it('neither skips nor repeats when courses are added between pages', async () => {
    const first = await list('?limit=4');
    const fresh = await create(alan, { title: 'Brand new', status: 'published' });
    const rest = await walk(`?limit=4&cursor=${first.body.nextCursor}`);
    const all = [...ids(first.body.items), ...ids(rest.items)];
    expect(all).not.toContain(fresh.id);
    expect(all).toEqual(ids([...published].sort(byCreatedAt).reverse()));
    await t().request().delete(`${COURSES}/${fresh.id}`).set(bearer(alan)).expect(204);
  });

  it('rejects a cursor from another sort, a forged one and one that does not parse', async () => {
    const { body } = await list('?sort=title&limit=2');
    const other = await list(`?sort=-title&cursor=${body.nextCursor}`);
    expect(other.status).toBe(400);
    expect(other.body.errors).toEqual([{ path: 'query.cursor', message: expect.any(String) }]);
    const [data, signature] = (body.nextCursor as string).split('.');
    const forged = Buffer.from(
      JSON.stringify(['courses:title', 'A', crypto.randomUUID()]),
    ).toString('base64url');
    for (const cursor of ['garbage', `${forged}.${signature}`, `${data}.${signature}x`]) {
      expect((await list(`?sort=title&cursor=${cursor}`)).status).toBe(400);
    }
  });

  it('validates limit and sort', async () => {
    for (const query of ['?limit=0', '?limit=101', '?limit=x', '?sort=id', '?status=deleted']) {
      expect((await list(query)).status).toBe(400);
    }
    expect((await list('?limit=100')).body.items).toHaveLength(published.length);
  });

  it('filters by instructor, category and level', async () => {
    const adas = (await list(`?instructorId=${ada.id}&limit=100`)).body.items as Listed[];
    expect(ids(adas).sort()).toEqual(
      ids(published.filter((c) => c.instructor.id === ada.id)).sort(),
    );
    const science = (await list('?category=Science&limit=100')).body.items as Listed[];
    expect(science).toHaveLength(8);
    expect((await list('?category=science')).body.items).toHaveLength(0);
    const advanced = (await walk('?level=advanced&category=Arts&sort=title&limit=2')).items;
    expect(advanced.map((c) => c.title)).toEqual([
      '02 Networks',
      '05 Poetry',
      '08 Physics',
      '11 History',
      '14 Economics',
      '17 Logic',
      '20 Sculpture',
    ]);
  });

  it('searches titles in any case, taking %, _ and quotes literally', async () => {
    const titles = async (q: string) =>
      ((await list(`?q=${encodeURIComponent(q)}&limit=100`)).body.items as Listed[])
        .map((c) => c.title)
        .sort();
    expect(await titles('COMP')).toEqual(['00 Compilers']);
    expect(await titles('%')).toEqual(['100% Fun_Stuff']);
    expect(await titles('_')).toEqual(['100% Fun_Stuff']);
    expect(await titles('fun_')).toEqual(['100% Fun_Stuff']);
    expect(await titles("'s 100")).toEqual(["Ada's 100 Percent Funny Stuff"]);
    expect(await titles('100')).toEqual(['100% Fun_Stuff', "Ada's 100 Percent Funny Stuff"]);
    expect(await titles('nothing like this')).toEqual([]);
    const paged = await walk('?q=o&sort=title&limit=3');
    expect(paged.items.every((c) => c.title.toLowerCase().includes('o'))).toBe(true);
  });

  it('shows drafts and archived courses only to their owner, or to an admin', async () => {
    const titles = async (query: string, as?: TestUser) =>
      ((await list(query, as)).body.items as Listed[]).map((c) => c.title).sort();
    expect(await titles('?status=draft')).toEqual([]);
    expect(await titles('?status=draft', student)).toEqual([]);
    expect(await titles('?status=draft', ada)).toEqual(['Ada draft']);
    expect(await titles(`?status=draft&instructorId=${alan.id}`, ada)).toEqual([]);
    expect(await titles('?status=draft', admin)).toEqual(['Ada draft', 'Alan draft']);
    expect(await titles('?status=archived', ada)).toEqual(['Ada archived']);
    expect(await titles('?status=archived', alan)).toEqual([]);
    expect(await titles('?status=archived', admin)).toEqual(['Ada archived']);
    const bad = await list('?status=draft').set('Authorization', 'Bearer not.a.token');
    expect(bad.status).toBe(401);
  });

  it('answers a crowd asking for one page at once, each with what was published before it asked', async () => {
    const query = '?limit=5';
    const expected = (await list(query)).body as { items: Listed[] };
    const crowd = await Promise.all(Array.from({ length: 30 }, () => list(query)));
    for (const res of crowd) {
      expect(res.status).toBe(200);
      expect(res.body).toEqual(expected);
    }

    // Readers keep the page in flight all along: a page read before the course was published
    // must never answer a request sent after the publication was answered.
    let reading = true;
    const readers = Array.from({ length: 8 }, async () => {
      while (reading) expect((await list(query)).status).toBe(200);
    });
    const fresh = await create(alan, { title: 'Published mid-crowd', status: 'published' });
    const after = await Promise.all(Array.from({ length: 20 }, () => list(query)));
    reading = false;
    await Promise.all(readers);
    for (const res of after) expect(ids(res.body.items)[0]).toBe(fresh.id);
    await t().request().delete(`${COURSES}/${fresh.id}`).set(bearer(alan)).expect(204);
  });
});
