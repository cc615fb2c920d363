import { describeEachDatabase } from '../helpers/app';
import { bearer, createUser, type TestUser } from '../helpers/users';

const API = '/api/v1';
const COURSES = `${API}/courses`;
const MINE = `${API}/users/me/enrollments`;

interface Mine {
  id: string;
  courseId: string;
  status: string;
  enrolledAt: string;
  cancelledAt: string | null;
  course: { id: string; title: string; status: string; instructor: { id: string; name: string } };
}

describeEachDatabase("the learner's view: my enrollments and the summary", (t) => {
  let owner: TestUser;
  let admin: TestUser;

  beforeAll(async () => {
    owner = await createUser(t(), { role: 'instructor', name: 'Grace Hopper' });
    admin = await createUser(t(), { role: 'admin' });
  });

  const course = async (title: string, body: Record<string, unknown> = {}) => {
    const res = await t()
      .request()
      .post(COURSES)
      .set(bearer(owner))
      .send({ title, status: 'published', ...body });
    expect(res.status).toBe(201);
    return res.body as { id: string; title: string };
  };
  const enroll = (id: string, as: TestUser) =>
    t().request().post(`${COURSES}/${id}/enroll`).set(bearer(as)).expect(201);
  const mine = (as: TestUser, query = '') => t().request().get(`${MINE}${query}`).set(bearer(as));

  it('lists my enrollments with their courses, newest first, paged and filtered', async () => {
    const me = await createUser(t());
    const courses = [];
    for (const title of ['One', 'Two', 'Three', 'Four', 'Five']) {
      courses.push(await course(title));
      await enroll(courses.at(-1)!.id, me);
    }
    await t().request().delete(`${COURSES}/${courses[1]!.id}/enroll`).set(bearer(me)).expect(204);

    const first = await mine(me, '?limit=2');
    expect(first.status).toBe(200);
    expect(first.headers.link).toBe(
      `<${MINE}?limit=2&cursor=${first.body.nextCursor}>; rel="next"`,
    );
    const all: Mine[] = [...first.body.items];
    let cursor: string | null = first.body.nextCursor;
    while (cursor) {
      const page = await mine(me, `?limit=2&cursor=${cursor}`);
      expect(page.status).toBe(200);
      all.push(...page.body.items);
      cursor = page.body.nextCursor;
    }
    expect(all).toHaveLength(5);
    const newestFirst = [...all].sort((a, b) =>
      a.enrolledAt === b.enrolledAt ? (a.id < b.id ? 1 : -1) : a.enrolledAt < b.enrolledAt ? 1 : -1,
    );
    expect(all).toEqual(newestFirst);
    const two = all.find((e) => e.course.title === 'Two')!;
    expect(two).toEqual({
      id: expect.any(String),
      courseId: courses[1]!.id,
      userId: me.id,
      status: 'cancelled',
      enrolledAt: expect.any(String),
      cancelledAt: expect.any(String),
      progress: { completedLessons: 0, totalLessons: 0, percent: 0, completedAt: null },
      course: {
        id: courses[1]!.id,
        title: 'Two',
        status: 'published',
        instructor: { id: owner.id, name: 'Grace Hopper' },
      },
    });
    const active = (await mine(me, '?status=active')).body.items as Mine[];
    expect(active.map((e) => e.course.title).sort()).toEqual(['Five', 'Four', 'One', 'Three']);
    expect((await mine(me, '?status=cancelled')).body.items).toHaveLength(1);
    expect((await mine(me, '?cursor=nope')).status).toBe(400);
    expect((await t().request().get(MINE)).status).toBe(401);
    // Someone else sees only their own.
    expect((await mine(await createUser(t()))).body).toEqual({ items: [], nextCursor: null });
  });

  it('summarises the 10 most recent active enrollments, leaving deleted courses out', async () => {
    const me = await createUser(t());
    const courses = [];
    for (let i = 0; i < 12; i += 1) {
      courses.push(await course(`Summary ${i}`));
      await enroll(courses.at(-1)!.id, me);
    }
    await t().request().delete(`${COURSES}/${courses[0]!.id}/enroll`).set(bearer(me)).expect(204);
    await t().request().delete(`${COURSES}/${courses[11]!.id}`).set(bearer(owner)).expect(204);

    const summary = await t().services.enrollments.summaryForUser(me.id);
    expect(summary.total).toBe(10);
    expect(summary.items).toHaveLength(10);
    expect(summary.items[0]).toEqual({
      id: expect.any(String),
      status: 'active',
      enrolledAt: expect.any(String),
      progress: { completedLessons: 0, totalLessons: 0, percent: 0, completedAt: null },
      course: {
        id: expect.any(String),
        title: expect.stringMatching(/^Summary/),
        status: 'published',
        instructor: { id: owner.id, name: 'Grace Hopper' },
      },
    });
    const titles = summary.items.map((e) => e.course.title).sort();
    expect(titles).not.toContain('Summary 0');
    expect(titles).not.toContain('Summary 11');

    const me2 = await t().request().get(`${API}/users/me`).set(bearer(me));
    expect(me2.status).toBe(200);
    expect(me2.body.enrollments).toEqual(summary);
    expect((await mine(me, '?limit=100')).body.items).toHaveLength(11);
  });

  it('cancels every active enrollment of a deleted user and frees the seats', async () => {
    const leaving = await createUser(t());
    const a = await course('Seat A', { capacity: 1 });
    const b = await course('Seat B');
    await enroll(a.id, leaving);
    await enroll(b.id, leaving);
    const { services, database } = t();
    await database.transaction((tx) => services.enrollments.cancelAllForUser(tx, leaving.id));
    const read = async (id: string) =>
      (await t().request().get(`${COURSES}/${id}`)).body.enrolledCount as number;
    expect(await read(a.id)).toBe(0);
    expect(await read(b.id)).toBe(0);
    const history = (await mine(leaving)).body.items as Mine[];
    expect(history.map((e) => e.status)).toEqual(['cancelled', 'cancelled']);
    await enroll(a.id, await createUser(t()));
  });

  it('knows whether a user owns courses that are not deleted', async () => {
    const { services, database } = t();
    const teacher = await createUser(t(), { role: 'instructor' });
    const owns = () =>
      database.transaction((tx) => services.courses.ownsLiveCourses(tx, teacher.id));
    expect(await owns()).toBe(false);
    const created = await t()
      .request()
      .post(COURSES)
      .set(bearer(teacher))
      .send({ title: 'Mine' })
      .expect(201);
    expect(await owns()).toBe(true);
    await t().request().delete(`${COURSES}/${created.body.id}`).set(bearer(teacher)).expect(204);
    expect(await owns()).toBe(false);
  });

  it('end to end: publish, browse, search, page, enroll, leave, roster, delete', async () => {
    const teacher = await createUser(t(), { role: 'instructor', name: 'Edsger Dijkstra' });
    const [ann, bob, cy] = await Promise.all([createUser(t()), createUser(t()), createUser(t())]);

    // The instructor drafts a course, then publishes it with If-Match.
    const draft = await t()
      .request()
      .post(COURSES)
      .set(bearer(teacher))
      .send({ title: 'Structured Programming E2E', capacity: 2, category: 'E2E' });
    expect(draft.status).toBe(201);
    const id = draft.body.id as string;
    expect((await t().request().get(`${COURSES}?category=E2E`)).body.items).toHaveLength(0);
    const published = await t()
      .request()
      .put(`${COURSES}/${id}`)
      .set(bearer(teacher))
      .set('If-Match', draft.headers.etag as string)
      .send({
        title: 'Structured Programming E2E',
        description: 'Go To considered harmful.',
        category: 'E2E',
        level: 'advanced',
        language: 'en',
        status: 'published',
        capacity: 2,
      });
    expect(published.status).toBe(200);
    for (let i = 0; i < 3; i += 1) {
      await t()
        .request()
        .post(COURSES)
        .set(bearer(teacher))
        .send({ title: `E2E extra ${i}`, category: 'E2E', status: 'published' })
        .expect(201);
    }

    // Students browse, page and search.
    const page1 = await t().request().get(`${COURSES}?category=E2E&limit=2`).set(bearer(ann));
    expect(page1.body.items).toHaveLength(2);
    const next = /^<([^>]+)>/.exec(page1.headers.link as string)![1]!;
    const page2 = await t().request().get(next).set(bearer(ann));
    expect(page2.body.items).toHaveLength(2);
    expect(page2.body.nextCursor).toBeNull();
    expect(page2.headers.link).toBeUndefined();
    const found = await t().request().get(`${COURSES}?q=structured%20PROGRAMMING`);
    expect(found.body.items.map((c: { id: string }) => c.id)).toEqual([id]);

    // They enroll until it is full, and one leaves.
    await enroll(id, ann);
    await enroll(id, bob);
    expect((await t().request().post(`${COURSES}/${id}/enroll`).set(bearer(cy))).status).toBe(409);
    await t().request().delete(`${COURSES}/${id}/enroll`).set(bearer(bob)).expect(204);
    await enroll(id, cy);
    expect((await t().request().get(`${COURSES}/${id}`)).body.enrolledCount).toBe(2);

    // The owner reads the roster.
    const roster = await t().request().get(`${COURSES}/${id}/enrollments`).set(bearer(teacher));
    expect(roster.status).toBe(200);
    const statusOf = Object.fromEntries(
      roster.body.items.map((e: { user: { id: string }; status: string }) => [e.user.id, e.status]),
    );
    expect(statusOf).toEqual({ [ann.id]: 'active', [bob.id]: 'cancelled', [cy.id]: 'active' });
    expect((await t().request().get(`${COURSES}/${id}/enrollments`).set(bearer(ann))).status).toBe(
      403,
    );
    const annMe = await t().request().get(`${API}/users/me`).set(bearer(ann));
    expect(annMe.body.enrollments.total).toBe(1);
    expect(annMe.body.enrollments.items[0].course).toEqual({
      id,
      title: 'Structured Programming E2E',
      status: 'published',
      instructor: { id: teacher.id, name: 'Edsger Dijkstra' },
    });

    // An admin deletes it: it is gone from every list and from the learners' views.
    await t().request().delete(`${COURSES}/${id}`).set(bearer(admin)).expect(204);
    expect((await t().request().get(`${COURSES}/${id}`)).status).toBe(404);
    const listed = await t().request().get(`${COURSES}?category=E2E&limit=100`);
    expect(listed.body.items.map((c: { id: string }) => c.id)).not.toContain(id);
    expect((await t().request().get(`${COURSES}?q=structured`)).body.items).toEqual([]);
    expect((await mine(ann)).body.items).toEqual([]);
    const after = await t().request().get(`${API}/users/me`).set(bearer(ann));
    expect(after.body.enrollments).toEqual({ total: 0, items: [] });
    expect(
      (await t().request().get(`${COURSES}/${id}/enrollments`).set(bearer(teacher))).status,
    ).toBe(404);
  });
});
