import { eq } from 'drizzle-orm';
import { describeEachDatabase } from '../helpers/app';
import { bearer, createUser, type TestUser } from '../helpers/users';

const COURSES = '/api/v1/courses';
const PROBLEM = 'https://opencourse.dev/problems/';

const full = {
  title: 'Introduction to compilers',
  description: 'From source text to machine code.',
  category: 'Computer science',
  level: 'intermediate',
  language: 'en',
  status: 'published',
  capacity: 30,
};

describeEachDatabase('courses: create, read, replace, delete', (t) => {
  let owner: TestUser;
  let other: TestUser;
  let student: TestUser;
  let admin: TestUser;

  beforeAll(async () => {
    owner = await createUser(t(), { role: 'instructor', name: 'Grace Hopper' });
    other = await createUser(t(), { role: 'instructor' });
    student = await createUser(t(), { role: 'student' });
    admin = await createUser(t(), { role: 'admin' });
  });

  const create = async (as: TestUser, body: Record<string, unknown> = {}) => {
    const res = await t()
      .request()
      .post(COURSES)
      .set(bearer(as))
      .send({ title: 'A course', ...body });
    expect(res.status).toBe(201);
    return res;
  };
  const get = (id: string, as?: TestUser) => {
    const req = t().request().get(`${COURSES}/${id}`);
    return as ? req.set(bearer(as)) : req;
  };
  const put = (id: string, as: TestUser, body: Record<string, unknown> = {}) =>
    t()
      .request()
      .put(`${COURSES}/${id}`)
      .set(bearer(as))
      .send({ ...full, ...body });

  describe('createCourse', () => {
    it('gives 201 with defaults, Location and the ETag that GET gives', async () => {
      const res = await create(owner, { title: 'Defaults' });
      expect(res.body).toEqual({
        id: expect.any(String),
        title: 'Defaults',
        description: '',
        category: null,
        level: null,
        language: 'en',
        status: 'draft',
        capacity: null,
        enrolledCount: 0,
        lessonCount: 0,
        totalDurationMinutes: 0,
        instructor: { id: owner.id, name: 'Grace Hopper' },
        createdAt: expect.any(String),
        updatedAt: res.body.createdAt,
        publishedAt: null,
      });
      expect(res.headers.location).toBe(`${COURSES}/${res.body.id}`);
      expect(res.headers.etag).toMatch(/^"/);
      const read = await get(res.body.id, owner);
      expect(read.status).toBe(200);
      expect(read.body).toEqual(res.body);
      expect(read.headers.etag).toBe(res.headers.etag);
    });

    it('sets publishedAt when created as published', async () => {
      const res = await create(owner, full);
      expect(res.body).toMatchObject({ ...full, enrolledCount: 0 });
      expect(res.body.publishedAt).toBe(res.body.createdAt);
    });

    it('refuses students (403) and anonymous callers (401)', async () => {
      const asStudent = await t().request().post(COURSES).set(bearer(student)).send({ title: 'x' });
      expect(asStudent.status).toBe(403);
      const anonymous = await t().request().post(COURSES).send({ title: 'x' });
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers['www-authenticate']).toBe('Bearer');
    });

    it('lets only an admin name another owner, who must be an active instructor', async () => {
      const byInstructor = await t()
        .request()
        .post(COURSES)
        .set(bearer(owner))
        .send({ title: 'x', instructorId: other.id });
      expect(byInstructor.status).toBe(403);
      const self = await create(owner, { instructorId: owner.id });
      expect(self.body.instructor.id).toBe(owner.id);

      const byAdmin = await create(admin, { title: 'For Grace', instructorId: owner.id });
      expect(byAdmin.body.instructor).toEqual({ id: owner.id, name: 'Grace Hopper' });
      expect((await get(byAdmin.body.id, owner)).status).toBe(200);

      for (const instructorId of [student.id, crypto.randomUUID()]) {
        const bad = await t()
          .request()
          .post(COURSES)
          .set(bearer(admin))
          .send({ title: 'x', instructorId });
        expect(bad.status).toBe(400);
        expect(bad.body.errors).toEqual([
          { path: 'body.instructorId', message: expect.any(String) },
        ]);
      }
    });

    it('rejects fields a client may not set, and invalid ones', async () => {
      for (const body of [
        { title: 'x', enrolledCount: 5 },
        { title: 'x', id: crypto.randomUUID() },
        { title: '' },
        { title: 'x', capacity: 0 },
        { title: 'x', level: 'expert' },
      ]) {
        const res = await t().request().post(COURSES).set(bearer(owner)).send(body);
        expect(res.status).toBe(400);
      }
    });
  });

  describe('getCourse', () => {
    it('shows a draft only to its owner and admins; anyone else gets 404', async () => {
      const { body: draft } = await create(owner, { title: 'Secret draft' });
      expect((await get(draft.id, owner)).status).toBe(200);
      expect((await get(draft.id, admin)).status).toBe(200);
      for (const as of [other, student, undefined]) {
        const res = await get(draft.id, as);
        expect(res.status).toBe(404);
        expect(res.body.type).toBe(`${PROBLEM}not-found`);
      }
      expect((await get(crypto.randomUUID())).status).toBe(404);
      expect((await get('not-a-uuid')).status).toBe(400);
    });

    it('shows a published course to anyone, and refuses a bad token', async () => {
      const { body: course } = await create(owner, full);
      expect((await get(course.id)).body).toEqual(course);
      expect((await get(course.id, student)).status).toBe(200);
      const bad = await t()
        .request()
        .get(`${COURSES}/${course.id}`)
        .set('Authorization', 'Bearer forged.token.here');
      expect(bad.status).toBe(401);
    });
  });

  describe('updateCourse', () => {
    it('replaces the editable fields and sets publishedAt the first time only', async () => {
      const { body: draft } = await create(owner, { title: 'Draft' });
      const published = await put(draft.id, owner, { title: 'Now live', category: null });
      expect(published.status).toBe(200);
      expect(published.body).toMatchObject({ ...full, title: 'Now live', category: null });
      expect(published.body.publishedAt).not.toBeNull();
      expect(published.body.createdAt).toBe(draft.createdAt);
      expect(published.headers.etag).toMatch(/^"/);

      const archived = await put(draft.id, owner, {
        status: 'archived',
        level: null,
        capacity: null,
      });
      expect(archived.body).toMatchObject({ status: 'archived', level: null, capacity: null });
      const again = await put(draft.id, owner, { status: 'published' });
      expect(again.body.publishedAt).toBe(published.body.publishedAt);
      expect((await get(draft.id)).body).toEqual(again.body);
    });

    it('requires every editable field and nothing more', async () => {
      const { body: course } = await create(owner);
      const { title: _title, ...missing } = full;
      const res = await t()
        .request()
        .put(`${COURSES}/${course.id}`)
        .set(bearer(owner))
        .send(missing);
      expect(res.status).toBe(400);
      const extra = await put(course.id, owner, { instructorId: other.id });
      expect(extra.status).toBe(400);
    });

    it('gives others 403 where the course is visible and 404 where not; admins may', async () => {
      const { body: published } = await create(owner, full);
      const { body: draft } = await create(owner);
      for (const as of [other, student]) {
        expect((await put(published.id, as)).status).toBe(403);
        expect((await put(draft.id, as)).status).toBe(404);
      }
      expect((await put(crypto.randomUUID(), owner)).status).toBe(404);
      const byAdmin = await put(draft.id, admin, { title: 'Fixed by admin' });
      expect(byAdmin.status).toBe(200);
      expect(byAdmin.body.instructor.id).toBe(owner.id);
    });

    it('refuses a capacity under enrolledCount with 409 capacity-below-enrolled', async () => {
      const { body: course } = await create(owner, { ...full, capacity: 5 });
      for (const s of [student, await createUser(t())]) {
        const res = await t().request().post(`${COURSES}/${course.id}/enroll`).set(bearer(s));
        expect(res.status).toBe(201);
      }
      const res = await put(course.id, owner, { capacity: 1 });
      expect(res.status).toBe(409);
      expect(res.body.type).toBe(`${PROBLEM}capacity-below-enrolled`);
      expect((await get(course.id)).body.capacity).toBe(5);
      expect((await put(course.id, owner, { capacity: 2 })).status).toBe(200);
    });
  });

  describe('conditional requests', () => {
    it('answers If-None-Match with 304 and a stale If-Match with 412', async () => {
      const { body: course } = await create(owner, full);
      const first = await get(course.id);
      const etag = first.headers.etag as string;
      expect(etag).toBeDefined();

      const notModified = await get(course.id).set('If-None-Match', etag);
      expect(notModified.status).toBe(304);
      expect(notModified.text).toBe('');

      const updated = await put(course.id, owner, { title: 'Renamed' }).set('If-Match', etag);
      expect(updated.status).toBe(200);
      const newEtag = updated.headers.etag as string;
      expect(newEtag).not.toBe(etag);
      expect((await get(course.id)).headers.etag).toBe(newEtag);
      expect((await get(course.id).set('If-None-Match', etag)).status).toBe(200);

      const stale = await put(course.id, owner, { title: 'Lost update' }).set('If-Match', etag);
      expect(stale.status).toBe(412);
      expect(stale.body.type).toBe(`${PROBLEM}precondition-failed`);
      expect((await get(course.id)).body.title).toBe('Renamed');

      const weak = await put(course.id, owner).set('If-Match', `W/${newEtag}`);
      expect(weak.status).toBe(412);
      const listed = await put(course.id, owner, { title: 'Listed' }).set(
        'If-Match',
        `"nope", ${newEtag}`,
      );
      expect(listed.status).toBe(200);
      const any = await put(course.id, owner, { title: 'Any' }).set('If-Match', '*');
      expect(any.status).toBe(200);
    });

    it('a seat taken since the read also makes If-Match stale', async () => {
      const { body: course } = await create(owner, full);
      const etag = (await get(course.id)).headers.etag as string;
      await t().request().post(`${COURSES}/${course.id}/enroll`).set(bearer(student)).expect(201);
      expect((await put(course.id, owner).set('If-Match', etag)).status).toBe(412);
    });

    it('never lets two racing editors both win on one version', async () => {
      const { body: course } = await create(owner, full);
      const etag = (await get(course.id)).headers.etag as string;
      const results = await Promise.all(
        ['One', 'Two', 'Three', 'Four'].map((title) =>
          put(course.id, title === 'Two' ? admin : owner, { title }).set('If-Match', etag),
        ),
      );
      const statuses = results.map((r) => r.status).sort();
      expect(statuses).toEqual([200, 412, 412, 412]);
      const winner = results.find((r) => r.status === 200)!;
      expect((await get(course.id)).body.title).toBe(winner.body.title);
    });
  });

  describe('deleteCourse', () => {
    it('is for the owner or an admin: 403 where visible, 404 where not', async () => {
      const { body: published } = await create(owner, full);
      const { body: draft } = await create(owner);
      for (const as of [other, student]) {
        expect(
          (await t().request().delete(`${COURSES}/${published.id}`).set(bearer(as))).status,
        ).toBe(403);
        expect((await t().request().delete(`${COURSES}/${draft.id}`).set(bearer(as))).status).toBe(
          404,
        );
      }
      expect((await t().request().delete(`${COURSES}/${draft.id}`).set(bearer(admin))).status).toBe(
        204,
      );
      expect((await get(draft.id, owner)).status).toBe(404);
    });

    it('soft-deletes: 404 afterwards and absent from lists, while the rows stay', async () => {
      const { body: course } = await create(owner, full);
      await t().request().post(`${COURSES}/${course.id}/enroll`).set(bearer(student)).expect(201);
      const del = await t().request().delete(`${COURSES}/${course.id}`).set(bearer(owner));
      expect(del.status).toBe(204);
      expect(del.text).toBe('');
      for (const as of [owner, admin, undefined])
        expect((await get(course.id, as)).status).toBe(404);
      expect((await put(course.id, owner)).status).toBe(404);
      expect(
        (await t().request().delete(`${COURSES}/${course.id}`).set(bearer(owner))).status,
      ).toBe(404);
      const list = await t().request().get(`${COURSES}?instructorId=${owner.id}&limit=100`);
      expect(list.body.items.map((c: { id: string }) => c.id)).not.toContain(course.id);

      const { courses, enrollments } = t().database.t;
      const [row] = await t().database.db.select().from(courses).where(eq(courses.id, course.id));
      expect(row?.deletedAt).toBeInstanceOf(Date);
      const history = await t()
        .database.db.select()
        .from(enrollments)
        .where(eq(enrollments.courseId, course.id));
      expect(history).toHaveLength(1);
    });
  });
});
