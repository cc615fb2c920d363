import { describeEachDatabase, type TestApp } from '../helpers/app';
import { DIALECTS } from '../helpers/databases';
import { buildInstances } from '../helpers/instances';
import { bearer, createUser, type TestUser } from '../helpers/users';

const COURSES = '/api/v1/courses';
const PROBLEM = 'https://opencourse.dev/problems/';

describeEachDatabase('enrollments: enroll, leave, roster, capacity under load', (t) => {
  let owner: TestUser;
  let other: TestUser;
  let student: TestUser;
  let admin: TestUser;

  beforeAll(async () => {
    owner = await createUser(t(), { role: 'instructor' });
    other = await createUser(t(), { role: 'instructor' });
    student = await createUser(t(), { role: 'student', name: 'Ada Lovelace' });
    admin = await createUser(t(), { role: 'admin' });
  });

  const course = async (body: Record<string, unknown> = {}) => {
    const res = await t()
      .request()
      .post(COURSES)
      .set(bearer(owner))
      .send({ title: 'Seats', status: 'published', ...body });
    expect(res.status).toBe(201);
    return res.body as { id: string };
  };
  const enroll = (id: string, as: TestUser) =>
    t().request().post(`${COURSES}/${id}/enroll`).set(bearer(as));
  const leave = (id: string, as: TestUser) =>
    t().request().delete(`${COURSES}/${id}/enroll`).set(bearer(as));
  const enrolledCount = async (id: string) =>
    (await t().request().get(`${COURSES}/${id}`).set(bearer(owner))).body.enrolledCount as number;
  const roster = (id: string, query = '', as: TestUser = owner) =>
    t().request().get(`${COURSES}/${id}/enrollments${query}`).set(bearer(as));

  it('enrolls once (201, Location), answers 200 after, leaves (204) and comes back (201)', async () => {
    const { id } = await course();
    const first = await enroll(id, student);
    expect(first.status).toBe(201);
    expect(first.headers.location).toBe(`${COURSES}/${id}/enroll`);
    expect(first.body).toEqual({
      id: expect.any(String),
      courseId: id,
      userId: student.id,
      status: 'active',
      enrolledAt: expect.any(String),
      cancelledAt: null,
      progress: { completedLessons: 0, totalLessons: 0, percent: 0, completedAt: null },
    });
    const again = await enroll(id, student);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(await enrolledCount(id)).toBe(1);

    const left = await leave(id, student);
    expect(left.status).toBe(204);
    expect(await enrolledCount(id)).toBe(0);
    expect((await leave(id, student)).status).toBe(404);
    const history = (await roster(id)).body.items;
    expect(history).toEqual([
      {
        user: { id: student.id, name: 'Ada Lovelace', email: student.email },
        status: 'cancelled',
        enrolledAt: first.body.enrolledAt,
        cancelledAt: expect.any(String),
        progress: { completedLessons: 0, totalLessons: 0, percent: 0, completedAt: null },
      },
    ]);

    const back = await enroll(id, student);
    expect(back.status).toBe(201);
    expect(back.body).toMatchObject({ id: first.body.id, status: 'active', cancelledAt: null });
    expect(back.body.enrolledAt >= first.body.enrolledAt).toBe(true);
    expect(await enrolledCount(id)).toBe(1);
    expect((await roster(id)).body.items).toHaveLength(1);
  });

  it('checks visibility, then the owner, then the status', async () => {
    const { id: draft } = await course({ status: 'draft' });
    expect((await enroll(draft, student)).status).toBe(404);
    expect((await enroll(draft, other)).status).toBe(404);
    expect((await enroll(draft, owner)).status).toBe(403);
    const notOpen = await enroll(draft, admin);
    expect(notOpen.status).toBe(409);
    expect(notOpen.body.type).toBe(`${PROBLEM}course-not-published`);
    const { id: open } = await course();
    expect((await enroll(open, owner)).status).toBe(403);
    expect((await enroll(open, other)).status).toBe(201);
    expect((await enroll(crypto.randomUUID(), student)).status).toBe(404);
    expect((await t().request().post(`${COURSES}/${open}/enroll`)).status).toBe(401);
    expect((await leave(crypto.randomUUID(), student)).status).toBe(404);
  });

  it('lets a student leave a course that was archived since', async () => {
    const { id } = await course();
    await enroll(id, student).expect(201);
    await t()
      .request()
      .put(`${COURSES}/${id}`)
      .set(bearer(owner))
      .send({
        title: 'Seats',
        description: '',
        category: null,
        level: null,
        language: 'en',
        status: 'archived',
        capacity: null,
      })
      .expect(200);
    expect((await enroll(id, student)).status).toBe(404);
    expect((await leave(id, student)).status).toBe(204);
    expect(await enrolledCount(id)).toBe(0);
  });

  it('answers 409 course-full when every seat is taken, and frees a seat on leaving', async () => {
    const { id } = await course({ capacity: 1 });
    await enroll(id, student).expect(201);
    const late = await createUser(t());
    const full = await enroll(id, late);
    expect(full.status).toBe(409);
    expect(full.body.type).toBe(`${PROBLEM}course-full`);
    expect((await enroll(id, student)).status).toBe(200);
    await leave(id, student).expect(204);
    expect((await enroll(id, late)).status).toBe(201);
  });

  it('never holds more active enrollments than the capacity, under parallel requests', async () => {
    const { id } = await course({ capacity: 3 });
    const students = await Promise.all(Array.from({ length: 24 }, () => createUser(t())));
    const results = await Promise.all(students.map((s) => enroll(id, s)));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(3);
    expect(statuses.filter((s) => s === 409)).toHaveLength(21);
    for (const r of results.filter((x) => x.status === 409)) {
      expect(r.body.type).toBe(`${PROBLEM}course-full`);
    }
    expect(await enrolledCount(id)).toBe(3);
    const active = (await roster(id, '?status=active')).body.items;
    expect(active).toHaveLength(3);

    // Leaving and joining at once still never exceeds the capacity.
    const winners = students.filter((_, i) => results[i]!.status === 201);
    const losers = students.filter((_, i) => results[i]!.status === 409);
    const mixed = await Promise.all([
      ...winners.map((s) => leave(id, s)),
      ...losers.map((s) => enroll(id, s)),
    ]);
    expect(mixed.slice(0, 3).map((r) => r.status)).toEqual([204, 204, 204]);
    const count = await enrolledCount(id);
    expect(count).toBeLessThanOrEqual(3);
    expect((await roster(id, '?status=active')).body.items).toHaveLength(count);
  });

  it('gives one seat to one student firing ten parallel requests', async () => {
    const { id } = await course({ capacity: 5 });
    const eager = await createUser(t());
    const results = await Promise.all(Array.from({ length: 10 }, () => enroll(id, eager)));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    expect(await enrolledCount(id)).toBe(1);
    expect((await roster(id)).body.items).toHaveLength(1);
  });

  describe('listCourseEnrollments', () => {
    it('shows the owner and admins every enrollment, newest first, paged', async () => {
      const { id } = await course();
      const people = await Promise.all(Array.from({ length: 5 }, () => createUser(t())));
      for (const p of people) await enroll(id, p).expect(201);
      await leave(id, people[1]!).expect(204);

      const first = await roster(id, '?limit=2');
      expect(first.status).toBe(200);
      expect(first.headers.link).toMatch(/^<\/api\/v1\/courses\/[^>]+cursor=[^>]+>; rel="next"$/);
      const all: { user: { id: string }; enrolledAt: string; status: string }[] = [
        ...first.body.items,
      ];
      let cursor = first.body.nextCursor as string | null;
      while (cursor) {
        const page = await roster(id, `?limit=2&cursor=${cursor}`);
        all.push(...page.body.items);
        cursor = page.body.nextCursor;
      }
      expect(all.map((e) => e.user.id).sort()).toEqual(people.map((p) => p.id).sort());
      const times = all.map((e) => e.enrolledAt);
      expect(times).toEqual([...times].sort().reverse());
      expect(all.find((e) => e.user.id === people[1]!.id)!.status).toBe('cancelled');

      const active = await roster(id, '?status=active&limit=100', admin);
      expect(active.status).toBe(200);
      expect(active.body.items).toHaveLength(4);
      const cancelled = await roster(id, '?status=cancelled');
      expect(cancelled.body.items.map((e: { user: { id: string } }) => e.user.id)).toEqual([
        people[1]!.id,
      ]);
      expect((await roster(id, `?cursor=${first.body.nextCursor}x`)).status).toBe(400);
    });

    it('gives others 403 where the course is visible and 404 where not', async () => {
      const { id: open } = await course();
      const { id: draft } = await course({ status: 'draft' });
      for (const as of [other, student]) {
        expect((await roster(open, '', as)).status).toBe(403);
        expect((await roster(draft, '', as)).status).toBe(404);
      }
      expect((await roster(draft)).status).toBe(200);
      expect((await t().request().get(`${COURSES}/${open}/enrollments`)).status).toBe(401);
    });
  });
});

const describePg = DIALECTS.includes('postgresql') ? describe : describe.skip;

describePg('seats on two instances sharing one PostgreSQL database', () => {
  let ctx: Awaited<ReturnType<typeof buildInstances>>;
  beforeAll(async () => {
    ctx = await buildInstances(2);
  });
  afterAll(() => ctx.close());

  it('never holds more active enrollments than the capacity, whichever instance each request reaches', async () => {
    const [a, b] = ctx.instances as [TestApp, TestApp];
    const owner = await createUser(a, { role: 'instructor' });
    const created = await b
      .request()
      .post(COURSES)
      .set(bearer(owner))
      .send({ title: 'Seats', status: 'published', capacity: 4 });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const students = await Promise.all(Array.from({ length: 20 }, () => createUser(a)));
    const results = await Promise.all(
      students.map((s, i) =>
        (i % 2 ? b : a).request().post(`${COURSES}/${id}/enroll`).set(bearer(s)),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([...Array<number>(4).fill(201), ...Array<number>(16).fill(409)]);
    for (const r of results.filter((x) => x.status === 409)) {
      expect(r.body.type).toBe(`${PROBLEM}course-full`);
    }
    for (const t of [a, b]) {
      const course = await t.request().get(`${COURSES}/${id}`).set(bearer(owner));
      expect(course.body.enrolledCount).toBe(4);
      const roster = await t
        .request()
        .get(`${COURSES}/${id}/enrollments?status=active`)
        .set(bearer(owner));
      expect(roster.body.items.map((e: { user: { id: string } }) => e.user.id).sort()).toEqual(
        students
          .filter((_, i) => results[i]!.status === 201)
          .map((s) => s.id)
          .sort(),
      );
    }
  });
});
