import { createCourseStore, type CourseRecord, type CourseSort } from '../../src/data/courses';
import { titleFragments, WORDS_PER_FRAGMENT } from '../../src/data/search';
import { describeEachDatabase } from '../helpers/app';
import { bearer, createUser, type TestUser } from '../helpers/users';

const COURSES = '/api/v1/courses';
const SORTS: CourseSort[] = ['-createdAt', 'createdAt', 'title', '-title'];

interface Listed {
  id: string;
  title: string;
  status: string;
  category: string | null;
  level: string | null;
  createdAt: string;
  instructor: { id: string };
}

const ids = (items: { id: string }[]) => items.map((c) => c.id);
const chunks = <T>(list: T[], size: number) =>
  Array.from({ length: Math.ceil(list.length / size) }, (_, i) =>
    list.slice(i * size, i * size + size),
  );

/** The order of a listing, as the API defines it: the sort key, then the id. */
function ordered<T extends { id: string; title: string; createdAt: string | Date }>(
  list: T[],
  sort: CourseSort,
): T[] {
  const key = (c: T) =>
    sort.endsWith('createdAt') ? new Date(c.createdAt).toISOString() : c.title;
  const sorted = [...list].sort((a, b) =>
    key(a) === key(b) ? (a.id < b.id ? -1 : 1) : key(a) < key(b) ? -1 : 1,
  );
  return sort.startsWith('-') ? sorted.reverse() : sorted;
}

// Every title starts with its own three digits (copies of one title share them), so that titles
// sort the same in any collation; the rest is ASCII, so that every database folds it alike.
const FREQUENT = 'Lumen'; // in most titles, bunched at the end of the title order
const RARE = 'Quartz'; // in three titles

describeEachDatabase('listCourses: title search, whichever plan serves it', (t) => {
  let ada: TestUser;
  let alan: TestUser;
  let admin: TestUser;
  /** Every course as it is now (renamed, deleted ones removed). */
  const courses = new Map<string, Listed>();

  const send = async (as: TestUser, body: Record<string, unknown>) => {
    const res = await t()
      .request()
      .post(COURSES)
      .set(bearer(as))
      .send({ description: 'x', status: 'published', ...body });
    expect(res.status).toBe(201);
    courses.set(res.body.id, res.body);
    return res.body as Listed;
  };
  const rename = async (course: Listed, title: string, as: TestUser) => {
    const res = await t().request().put(`${COURSES}/${course.id}`).set(bearer(as)).send({
      title,
      description: 'x',
      category: course.category,
      level: course.level,
      language: 'en',
      status: course.status,
      capacity: null,
    });
    expect(res.status).toBe(200);
    courses.set(course.id, res.body);
  };
  const published = () => [...courses.values()].filter((c) => c.status === 'published');
  const matching = (term: string, list = published()) =>
    list.filter((c) => c.title.toLowerCase().includes(term.toLowerCase()));

  /** Every page of a listing, following `nextCursor` (and `Link`, which must agree with it). */
  const pages = async (query: string, as?: TestUser) => {
    const seen: Listed[][] = [];
    let url: string | undefined = `${COURSES}?${query}`;
    while (url) {
      const req = t().request().get(url);
      const res = await (as ? req.set(bearer(as)) : req);
      expect(res.status).toBe(200);
      seen.push(res.body.items);
      if (res.body.nextCursor === null) {
        expect(res.headers.link).toBeUndefined();
        url = undefined;
      } else {
        const next = /^<([^>]+)>; rel="next"$/.exec(res.headers.link ?? '');
        expect(next).not.toBeNull();
        url = next![1];
      }
      expect(seen.length).toBeLessThan(200);
    }
    return seen;
  };

  beforeAll(async () => {
    ada = await createUser(t(), { role: 'instructor' });
    alan = await createUser(t(), { role: 'instructor' });
    admin = await createUser(t(), { role: 'admin' });
    const levels = ['beginner', 'intermediate', 'advanced'] as const;
    const titles: string[] = [];
    for (let i = 0; i < 30; i += 1) titles.push(`${100 + i} Plain course`);
    for (let i = 0; i < 40; i += 1) titles.push(`${700 + i} ${FREQUENT} course`);
    titles.push(
      `200 ${RARE} Lumen`,
      `300 Rose ${RARE.toLowerCase()}`,
      `400 ${RARE.toUpperCase()}s`,
    );
    // Case, and the characters that mean something to LIKE, taken literally.
    titles.push('500 LUMEN LOUD', '501 lumen quiet', '502 LuMeN mixed', '503 Illumenated');
    // A title under two of the words that hold "lumen": found once.
    titles.push('505 Lumen illumenated');
    titles.push('510 100% Sure', '511 Fun_Stuff', '512 Fun-Stuff', '513 FunXStuff', '514 Jazz');
    // More words holding one fragment than are looked up by word: the walk serves "zork".
    for (let i = 0; i <= WORDS_PER_FRAGMENT; i += 1) {
      titles.push(`${600 + i} Zork${String.fromCharCode(97 + i)} quest`);
    }
    // Copies of one title: their order is the id's.
    titles.push('800 Lumen twin', '800 Lumen twin', '800 Lumen twin');
    // Created in an order of their own, so that date order and title order differ.
    const shuffled = titles
      .map((title, i) => ({ title, i }))
      .sort((a, b) => ((a.i * 37) % 101) - ((b.i * 37) % 101));
    for (const { title, i } of shuffled) {
      await send(i % 2 === 0 ? ada : alan, {
        title,
        category: i % 3 === 0 ? 'Science' : 'Arts',
        level: levels[i % 3],
      });
    }
    // Not published, deleted, renamed: the search follows every change.
    await send(ada, { title: '900 Lumen draft', status: 'draft' });
    await send(alan, { title: '901 Lumen archived', status: 'archived' });
    const gone = await send(ada, { title: '902 Lumen deleted' });
    await t().request().delete(`${COURSES}/${gone.id}`).set(bearer(ada)).expect(204);
    courses.delete(gone.id);
    await rename(await send(alan, { title: '903 Nothing yet' }), '903 Lumen renamed', alan);
    await rename(await send(ada, { title: '904 Lumen once' }), '904 Nothing now', ada);
  });

  const terms = [
    ['a frequent term', 'lumen'],
    ['a rare term', RARE.toLowerCase()],
    ['a phrase of a frequent and a rare word', 'quartz lumen'],
    ['a fragment of words', 'ume'],
    ['a term in more words than are looked up', 'zork'],
    ['a term of one character', 'z'],
    ['a term of two characters', 'zz'],
    ['an absent term', 'zebra'],
    ['a phrase with a word no title holds', 'lumen zebra'],
  ];

  it.each(terms)('pages through %s (%s) in every order, 2 and 3 to a page', async (_, term) => {
    for (const sort of SORTS) {
      const expected = ordered(matching(term), sort);
      for (const limit of [2, 3]) {
        const seen = await pages(`q=${encodeURIComponent(term)}&sort=${sort}&limit=${limit}`);
        // The default window is far larger than these listings: every page but the last is whole.
        expect(seen.map(ids)).toEqual(expected.length === 0 ? [[]] : chunks(ids(expected), limit));
      }
    }
  });

  it('finds the expected courses of each kind of term', () => {
    expect(matching('lumen')).toHaveLength(40 + 1 + 5 + 3 + 1);
    expect(matching('quartz')).toHaveLength(3);
    expect(matching('quartz lumen')).toHaveLength(1);
    expect(matching('zork')).toHaveLength(WORDS_PER_FRAGMENT + 1);
    expect(matching('zz')).toHaveLength(1);
  });

  it('ignores case in the term and in titles', async () => {
    for (const term of ['LUMEN', 'lUmEn', 'QUARTZ']) {
      const seen = (await pages(`q=${term}&sort=title&limit=100`)).flat();
      expect(ids(seen)).toEqual(ids(ordered(matching(term), 'title')));
    }
    const loud = (await pages('q=lumen%20LOUD&limit=100')).flat();
    expect(loud.map((c) => c.title)).toEqual(['500 LUMEN LOUD']);
  });

  it('takes %, _ and \\ literally, short or long', async () => {
    const titles = async (q: string) =>
      (await pages(`q=${encodeURIComponent(q)}&sort=title&limit=100`)).flat().map((c) => c.title);
    expect(await titles('%')).toEqual(['510 100% Sure']);
    expect(await titles('0%')).toEqual(['510 100% Sure']);
    expect(await titles('_')).toEqual(['511 Fun_Stuff']);
    expect(await titles('fun_stuff')).toEqual(['511 Fun_Stuff']);
    expect(await titles('n_s')).toEqual(['511 Fun_Stuff']);
    expect(await titles('fun%stuff')).toEqual([]);
    expect(await titles('\\')).toEqual([]);
  });

  it('keeps its other filters, drafts and archived courses included', async () => {
    const science = (await pages('q=lumen&category=Science&sort=title&limit=3')).flat();
    expect(ids(science)).toEqual(
      ids(
        ordered(
          matching('lumen').filter((c) => c.category === 'Science'),
          'title',
        ),
      ),
    );
    const adas = (await pages(`q=lumen&instructorId=${ada.id}&level=advanced&limit=2`)).flat();
    expect(ids(adas)).toEqual(
      ids(
        ordered(
          matching('lumen').filter((c) => c.instructor.id === ada.id && c.level === 'advanced'),
          '-createdAt',
        ),
      ),
    );
    const titles = async (query: string, as?: TestUser) =>
      (await pages(query, as)).flat().map((c) => c.title);
    expect(await titles('q=lumen&status=draft', ada)).toEqual(['900 Lumen draft']);
    expect(await titles('q=lumen&status=draft', alan)).toEqual([]);
    expect(await titles('q=lumen&status=archived', admin)).toEqual(['901 Lumen archived']);
    expect(await titles('q=deleted')).toEqual([]);
    expect(await titles('q=renamed')).toEqual(['903 Lumen renamed']);
    expect(await titles('q=once')).toEqual([]);
    expect(await titles('q=nothing%20now')).toEqual(['904 Nothing now']);
  });

  it('rejects a cursor of another term', async () => {
    const [first] = await pages('q=lumen&limit=2').then((p) => p.slice(0, 1));
    expect(first).toHaveLength(2);
    const res = await t().request().get(`${COURSES}?q=lumen&limit=2`);
    const other = await t()
      .request()
      .get(`${COURSES}?q=quartz&limit=2&cursor=${res.body.nextCursor}`);
    expect(other.status).toBe(400);
  });

  describe('with a window of a few rows (the data module)', () => {
    const WINDOW = 5;
    const LIMIT = 3;

    /** Every page through the store, as the service pages: `limit + 1` asked, then a cursor. */
    const storePages = async (q: string, sort: CourseSort) => {
      const store = createCourseStore(t().database, { searchWindow: WINDOW });
      const seen: CourseRecord[][] = [];
      let after: { value: Date | string; id: string } | undefined;
      for (;;) {
        const rows = await store.list({ status: 'published', sort, q, after, limit: LIMIT + 1 });
        const items = rows.slice(0, LIMIT);
        seen.push(items);
        const last = rows.length > LIMIT ? items.at(-1) : rows.resumeAfter;
        if (!last) return seen;
        after = { value: sort.endsWith('createdAt') ? last.createdAt : last.title, id: last.id };
        expect(seen.length).toBeLessThan(200);
      }
    };

    /**
     * The pages of the walk down the listing alone, `WINDOW` rows at a time: a whole page where
     * the window holds one (and one more match), else its matches and a cursor at its last row.
     */
    const walkPages = (term: string, sort: CourseSort) => {
      const listing = ordered(published(), sort);
      const seen: string[][] = [];
      for (let start = 0; ;) {
        const window = listing.slice(start, start + WINDOW);
        const hits = window.filter((c) => c.title.toLowerCase().includes(term));
        if (hits.length > LIMIT) {
          seen.push(ids(hits.slice(0, LIMIT)));
          start = listing.indexOf(hits[LIMIT - 1]!) + 1;
        } else {
          seen.push(ids(hits));
          if (window.length < WINDOW) return seen;
          start += WINDOW;
        }
      }
    };

    it.each(terms)('still finds %s (%s), page by page', async (_, term) => {
      for (const sort of SORTS) {
        const seen = await storePages(term, sort);
        expect(ids(seen.flat())).toEqual(ids(ordered(matching(term), sort)));
        for (const page of seen) expect(page.length).toBeLessThanOrEqual(LIMIT);
        if (titleFragments(term, t().dialect).length === 0) {
          // Both databases walk such a term, and stop at the same rows.
          expect(seen.map(ids)).toEqual(walkPages(term, sort));
        }
      }
    });

    it('answers at once where a word of the term is in no title', async () => {
      for (const sort of SORTS) expect(await storePages('lumen zebra', sort)).toEqual([[]]);
    });

    it('stops short of a page where the matches are far apart, and says where', async () => {
      const seen = await storePages('zz', 'title');
      expect(seen.length).toBeGreaterThan(published().length / WINDOW - 1);
      expect(seen.filter((page) => page.length === 0).length).toBeGreaterThan(0);
      expect(ids(seen.flat())).toEqual(ids(matching('zz')));
    });
  });
});
