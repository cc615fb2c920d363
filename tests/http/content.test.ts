import type { Response, Test } from 'supertest';
import { describeEachDatabase } from '../helpers/app';
import { bearer, createUser, type TestUser } from '../helpers/users';

const COURSES = '/api/v1/courses';
const PROBLEM = 'https://opencourse.dev/problems/';
const EMOJI = '\u{1F600}'; // 4 bytes of UTF-8, 2 UTF-16 code units, 1 character

type Who = 'anonymous' | 'student' | 'enrolled' | 'cancelled' | 'other' | 'owner' | 'admin';
type Status = 'published' | 'draft';
type LessonState = 'published' | 'preview' | 'draft';

const WHO: Who[] = ['anonymous', 'student', 'enrolled', 'cancelled', 'other', 'owner', 'admin'];
const STATUSES: Status[] = ['published', 'draft'];
const MANAGERS: Who[] = ['owner', 'admin'];
const STUDENTS: Who[] = ['student', 'enrolled', 'cancelled'];

interface Section {
  id: string;
  courseId: string;
  title: string;
  position: number;
  createdAt: string;
  updatedAt: string;
}
interface Lesson {
  id: string;
  courseId: string;
  sectionId: string;
  title: string;
  summary: string | null;
  kind: 'text' | 'video' | 'link';
  body: string | null;
  url: string | null;
  durationMinutes: number | null;
  preview: boolean;
  status: 'draft' | 'published';
  position: number;
  createdAt: string;
  updatedAt: string;
}
type OutlineLesson = Omit<Lesson, 'body' | 'url'> & { completedAt: string | null };
interface Outline {
  courseId: string;
  sections: (Section & { lessons: OutlineLesson[] })[];
}
interface OutlineBody {
  sections: { id: string; lessonIds: string[] }[];
}

/** A course with a section holding three lessons (one of each kind of access) and an empty one. */
interface World {
  courseId: string;
  section: Section;
  empty: Section;
  lessons: Record<LessonState, Lesson>;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** The order a client would send back to keep an outline as it is. */
const orderOf = (outline: Outline): OutlineBody => ({
  sections: outline.sections.map((s) => ({ id: s.id, lessonIds: s.lessons.map((l) => l.id) })),
});

describeEachDatabase('content: sections, lessons, outline', (t) => {
  let people: Record<Exclude<Who, 'anonymous'>, TestUser>;
  const user = (who: Who) => (who === 'anonymous' ? undefined : people[who]);
  const owner = () => people.owner;

  beforeAll(async () => {
    const [owner, other, student, enrolled, cancelled, admin] = await Promise.all([
      createUser(t(), { role: 'instructor', name: 'Course Owner' }),
      createUser(t(), { role: 'instructor' }),
      createUser(t(), { role: 'student' }),
      createUser(t(), { role: 'student' }),
      createUser(t(), { role: 'student' }),
      createUser(t(), { role: 'admin' }),
    ]);
    people = { owner, other, student, enrolled, cancelled, admin };
  });

  // --- requests ------------------------------------------------------------------------------

  const auth = (test: Test, as?: TestUser) => (as ? test.set(bearer(as)) : test);
  const courseUrl = (courseId: string) => `${COURSES}/${courseId}`;
  const lessonUrl = (courseId: string, lessonId: string) =>
    `${COURSES}/${courseId}/lessons/${lessonId}`;
  const sectionUrl = (courseId: string, sectionId: string) =>
    `${COURSES}/${courseId}/sections/${sectionId}`;

  const getCourse = (courseId: string, as?: TestUser) =>
    auth(t().request().get(courseUrl(courseId)), as);
  const putCourse = (courseId: string, status: string, as: TestUser = owner()) =>
    t().request().put(courseUrl(courseId)).set(bearer(as)).send({
      title: 'Content course',
      description: '',
      category: null,
      level: null,
      language: 'en',
      status,
      capacity: null,
    });
  const getOutline = (courseId: string, as?: TestUser) =>
    auth(
      t()
        .request()
        .get(`${courseUrl(courseId)}/outline`),
      as,
    );
  const putOutline = (courseId: string, body: unknown, as?: TestUser, ifMatch?: string) => {
    const test = auth(
      t()
        .request()
        .put(`${courseUrl(courseId)}/outline`),
      as,
    );
    return (ifMatch ? test.set('If-Match', ifMatch) : test).send(body as object);
  };
  const postSection = (courseId: string, body: unknown, as?: TestUser) =>
    auth(
      t()
        .request()
        .post(`${courseUrl(courseId)}/sections`),
      as,
    ).send(body as object);
  const patchSection = (courseId: string, sectionId: string, body: unknown, as?: TestUser) =>
    auth(t().request().patch(sectionUrl(courseId, sectionId)), as).send(body as object);
  const deleteSection = (courseId: string, sectionId: string, as?: TestUser) =>
    auth(t().request().delete(sectionUrl(courseId, sectionId)), as);
  const postLesson = (courseId: string, sectionId: string, body: unknown, as?: TestUser) =>
    auth(
      t()
        .request()
        .post(`${sectionUrl(courseId, sectionId)}/lessons`),
      as,
    ).send(body as object);
  const getLesson = (courseId: string, lessonId: string, as?: TestUser) =>
    auth(t().request().get(lessonUrl(courseId, lessonId)), as);
  const patchLesson = (
    courseId: string,
    lessonId: string,
    body: unknown,
    as?: TestUser,
    ifMatch?: string,
  ) => {
    const test = auth(t().request().patch(lessonUrl(courseId, lessonId)), as);
    return (ifMatch ? test.set('If-Match', ifMatch) : test).send(body as object);
  };
  const deleteLesson = (courseId: string, lessonId: string, as?: TestUser) =>
    auth(t().request().delete(lessonUrl(courseId, lessonId)), as);
  const enroll = (courseId: string, as: TestUser) =>
    t()
      .request()
      .post(`${courseUrl(courseId)}/enroll`)
      .set(bearer(as));
  const leave = (courseId: string, as: TestUser) =>
    t()
      .request()
      .delete(`${courseUrl(courseId)}/enroll`)
      .set(bearer(as));

  // --- fixtures, made through the API as the owner -------------------------------------------

  const newCourse = async (status: Status = 'published', as: TestUser = owner()) => {
    const res = await t()
      .request()
      .post(COURSES)
      .set(bearer(as))
      .send({ title: 'Content course', status });
    expect(res.status).toBe(201);
    return res.body.id as string;
  };
  const mkSection = async (courseId: string, title = 'A section', as: TestUser = owner()) => {
    const res = await postSection(courseId, { title }, as);
    expect(res.status).toBe(201);
    return res.body as Section;
  };
  const mkLesson = async (
    courseId: string,
    sectionId: string,
    body: Record<string, unknown> = {},
    as: TestUser = owner(),
  ) => {
    const res = await postLesson(
      courseId,
      sectionId,
      { title: 'A lesson', kind: 'text', ...body },
      as,
    );
    expect(res.status).toBe(201);
    return res.body as Lesson;
  };
  const outline = async (courseId: string, as: TestUser = owner()) => {
    const res = await getOutline(courseId, as);
    expect(res.status).toBe(200);
    return { body: res.body as Outline, etag: res.headers.etag as string };
  };
  const lessonAsOwner = async (courseId: string, lessonId: string) => {
    const res = await getLesson(courseId, lessonId, owner());
    expect(res.status).toBe(200);
    return { body: res.body as Lesson, etag: res.headers.etag as string };
  };

  /** Positions 0, 1, 2, ... of sections and of each section's lessons, as the owner sees them. */
  const expectContiguous = (o: Outline) => {
    expect(o.sections.map((s) => s.position)).toEqual(range(o.sections.length));
    for (const s of o.sections) {
      expect(s.lessons.map((l) => l.position)).toEqual(range(s.lessons.length));
      for (const l of s.lessons) expect(l.sectionId).toBe(s.id);
    }
  };

  const world = async (status: Status): Promise<World> => {
    const courseId = await newCourse('published');
    const section = await mkSection(courseId, 'Basics');
    const empty = await mkSection(courseId, 'Coming soon');
    const published = await mkLesson(courseId, section.id, {
      title: 'For enrolled students',
      body: 'Enrolled only.',
      status: 'published',
    });
    const preview = await mkLesson(courseId, section.id, {
      title: 'Free preview',
      body: 'Anyone may read this.',
      preview: true,
      status: 'published',
    });
    const draft = await mkLesson(courseId, section.id, { title: 'Not yet', preview: true });
    await enroll(courseId, people.enrolled).expect(201);
    await enroll(courseId, people.cancelled).expect(201);
    await leave(courseId, people.cancelled).expect(204);
    if (status === 'draft') await putCourse(courseId, 'draft').expect(200);
    return { courseId, section, empty, lessons: { published, preview, draft } };
  };

  const expectProblem = (res: Response, status: number, type: string) => {
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.type).toBe(`${PROBLEM}${type}`);
    if (status === 401) expect(res.headers['www-authenticate']).toBe('Bearer');
  };

  // --- 1. who may do what --------------------------------------------------------------------

  describe('permissions', () => {
    const worlds = {} as Record<Status, World>;
    beforeAll(async () => {
      worlds.published = await world('published');
      worlds.draft = await world('draft');
    });

    interface Target {
      id: string;
      marker: string;
      order?: OutlineBody;
    }
    interface ManagerOp {
      ok: number;
      /** Makes, as the owner, what the call acts on: every row of the table starts afresh. */
      prepare(w: World): Promise<Target>;
      call(w: World, target: Target, as?: TestUser): Promise<Response>;
      /** Whether the call's effect is there, read by the owner. */
      applied(w: World, target: Target): Promise<boolean>;
    }
    const unique = () => `mark ${crypto.randomUUID().slice(0, 8)}`;
    const managerOps: Record<string, ManagerOp> = {
      replaceCourseOutline: {
        ok: 200,
        async prepare(w) {
          const x = await mkSection(w.courseId, 'x');
          const y = await mkSection(w.courseId, 'y');
          const order = orderOf((await outline(w.courseId)).body);
          const [last, beforeLast] = [order.sections.pop()!, order.sections.pop()!];
          order.sections.push(last, beforeLast);
          return { id: x.id, marker: y.id, order };
        },
        call: async (w, target, as) => putOutline(w.courseId, target.order, as),
        async applied(w, target) {
          const ids = (await outline(w.courseId)).body.sections.map((s) => s.id);
          return ids.indexOf(target.id) > ids.indexOf(target.marker);
        },
      },
      createSection: {
        ok: 201,
        prepare: async () => ({ id: '', marker: unique() }),
        call: async (w, target, as) => postSection(w.courseId, { title: target.marker }, as),
        applied: async (w, target) =>
          (await outline(w.courseId)).body.sections.some((s) => s.title === target.marker),
      },
      updateSection: {
        ok: 200,
        prepare: async (w) => ({ id: (await mkSection(w.courseId)).id, marker: unique() }),
        call: async (w, target, as) =>
          patchSection(w.courseId, target.id, { title: target.marker }, as),
        applied: async (w, target) =>
          (await outline(w.courseId)).body.sections.some((s) => s.title === target.marker),
      },
      deleteSection: {
        ok: 204,
        prepare: async (w) => ({ id: (await mkSection(w.courseId)).id, marker: '' }),
        call: async (w, target, as) => deleteSection(w.courseId, target.id, as),
        applied: async (w, target) =>
          !(await outline(w.courseId)).body.sections.some((s) => s.id === target.id),
      },
      createLesson: {
        ok: 201,
        prepare: async () => ({ id: '', marker: unique() }),
        call: async (w, target, as) =>
          postLesson(w.courseId, w.section.id, { title: target.marker, kind: 'text' }, as),
        applied: async (w, target) =>
          (await outline(w.courseId)).body.sections.some((s) =>
            s.lessons.some((l) => l.title === target.marker),
          ),
      },
      updateLesson: {
        ok: 200,
        prepare: async (w) => ({
          id: (await mkLesson(w.courseId, w.section.id)).id,
          marker: unique(),
        }),
        call: async (w, target, as) =>
          patchLesson(w.courseId, target.id, { title: target.marker }, as),
        applied: async (w, target) =>
          (await lessonAsOwner(w.courseId, target.id)).body.title === target.marker,
      },
      deleteLesson: {
        ok: 204,
        prepare: async (w) => ({ id: (await mkLesson(w.courseId, w.section.id)).id, marker: '' }),
        call: async (w, target, as) => deleteLesson(w.courseId, target.id, as),
        applied: async (w, target) =>
          (await getLesson(w.courseId, target.id, owner())).status === 404,
      },
    };

    const managerExpected = (op: string, who: Who, status: Status): number => {
      if (who === 'anonymous') return 401;
      if (STUDENTS.includes(who)) return 403;
      if (who === 'other') return status === 'published' ? 403 : 404;
      return managerOps[op]!.ok;
    };
    const managerRows = Object.keys(managerOps).flatMap((op) =>
      STATUSES.flatMap((status) =>
        WHO.map((who) => [op, who, status, managerExpected(op, who, status)] as const),
      ),
    );

    it.each(managerRows)('%s as %s on a %s course: %i', async (op, who, status, expected) => {
      const w = worlds[status];
      const { prepare, call, applied } = managerOps[op]!;
      const target = await prepare(w);
      const res = await call(w, target, user(who));
      expect(res.status).toBe(expected);
      if (expected === 401) expectProblem(res, 401, 'unauthorized');
      if (expected === 403) expectProblem(res, 403, 'forbidden');
      if (expected === 404) expectProblem(res, 404, 'not-found');
      // A refused call changes nothing; an allowed one is there to read.
      expect(await applied(w, target)).toBe(expected < 300);
    });

    const outlineRows = STATUSES.flatMap((status) =>
      WHO.map(
        (who) =>
          [who, status, status === 'published' || MANAGERS.includes(who) ? 200 : 404] as const,
      ),
    );

    it.each(outlineRows)(
      'getCourseOutline as %s on a %s course: %i',
      async (who, status, expected) => {
        const w = worlds[status];
        const res = await getOutline(w.courseId, user(who));
        expect(res.status).toBe(expected);
        if (expected === 404) {
          expectProblem(res, 404, 'not-found');
          return;
        }
        expect(res.headers.etag).toMatch(/^"/);
        const body = res.body as Outline;
        expect(body.courseId).toBe(w.courseId);
        const basics = body.sections.find((s) => s.id === w.section.id)!;
        const lessonIds = basics.lessons.map((l) => l.id);
        const { published, preview, draft } = w.lessons;
        if (MANAGERS.includes(who)) {
          expect(lessonIds).toEqual(expect.arrayContaining([published.id, preview.id, draft.id]));
        } else {
          expect(lessonIds).toEqual(expect.arrayContaining([published.id, preview.id]));
          expect(lessonIds).not.toContain(draft.id);
          for (const s of body.sections)
            for (const l of s.lessons) expect(l.status).toBe('published');
        }
        // Published lessons keep the positions they hold among all lessons, drafts included.
        expect(basics.lessons.find((l) => l.id === preview.id)).toEqual({
          ...Object.fromEntries(
            Object.entries(preview).filter(([k]) => k !== 'body' && k !== 'url'),
          ),
          completedAt: null,
        });
        // The empty section is listed, with no lessons.
        expect(body.sections.find((s) => s.id === w.empty.id)).toEqual({ ...w.empty, lessons: [] });
        for (const s of body.sections) {
          for (const l of s.lessons) {
            expect(l).not.toHaveProperty('body');
            expect(l).not.toHaveProperty('url');
          }
        }
      },
    );

    const lessonExpected = (who: Who, status: Status, lesson: LessonState): number => {
      if (MANAGERS.includes(who)) return 200;
      if (status === 'draft' || lesson === 'draft') return 404;
      if (lesson === 'preview' || who === 'enrolled') return 200;
      return 403;
    };
    const lessonRows = STATUSES.flatMap((status) =>
      (['published', 'preview', 'draft'] as const).flatMap((lesson) =>
        WHO.map((who) => [lesson, who, status, lessonExpected(who, status, lesson)] as const),
      ),
    );

    it.each(lessonRows)(
      'getLesson of a %s lesson as %s on a %s course: %i',
      async (lesson, who, status, expected) => {
        const w = worlds[status];
        const res = await getLesson(w.courseId, w.lessons[lesson].id, user(who));
        expect(res.status).toBe(expected);
        if (expected === 403) expectProblem(res, 403, 'enrollment-required');
        if (expected === 404) expectProblem(res, 404, 'not-found');
        if (expected === 200) {
          expect(res.body).toEqual(w.lessons[lesson]);
          expect(res.headers.etag).toMatch(/^"/);
        }
      },
    );

    it('refuses a token that is given but not valid, even where none is needed (401)', async () => {
      const w = worlds.published;
      const forged = { token: 'forged.token.here' };
      expectProblem(await getOutline(w.courseId, forged as TestUser), 401, 'unauthorized');
      expectProblem(
        await getLesson(w.courseId, w.lessons.preview.id, forged as TestUser),
        401,
        'unauthorized',
      );
    });

    it('locks the content again when the enrollment is cancelled, and unlocks it on return', async () => {
      const w = worlds.published;
      const reader = await createUser(t());
      const read = () => getLesson(w.courseId, w.lessons.published.id, reader);
      expectProblem(await read(), 403, 'enrollment-required');
      await enroll(w.courseId, reader).expect(201);
      expect((await read()).status).toBe(200);
      await leave(w.courseId, reader).expect(204);
      expectProblem(await read(), 403, 'enrollment-required');
      expect((await getLesson(w.courseId, w.lessons.preview.id, reader)).status).toBe(200);
      await enroll(w.courseId, reader).expect(201);
      expect((await read()).status).toBe(200);
    });

    it('hides everything of a course that goes back to draft from its enrolled students', async () => {
      const w = await world('published');
      expect((await getLesson(w.courseId, w.lessons.published.id, people.enrolled)).status).toBe(
        200,
      );
      await putCourse(w.courseId, 'draft').expect(200);
      for (const lesson of [w.lessons.published, w.lessons.preview]) {
        expectProblem(await getLesson(w.courseId, lesson.id, people.enrolled), 404, 'not-found');
        expectProblem(await getLesson(w.courseId, lesson.id), 404, 'not-found');
      }
      expectProblem(await getOutline(w.courseId, people.enrolled), 404, 'not-found');
    });

    it('answers 404 for an unknown course, whoever asks', async () => {
      const ghost = crypto.randomUUID();
      for (const who of WHO) {
        expect((await getOutline(ghost, user(who))).status).toBe(404);
        expect(
          (await getLesson(ghost, worlds.published.lessons.preview.id, user(who))).status,
        ).toBe(404);
      }
      for (const who of ['other', 'owner', 'admin'] as const) {
        expect((await postSection(ghost, { title: 'x' }, people[who])).status).toBe(404);
      }
    });
  });

  // --- 2. positions, Location, ETags ---------------------------------------------------------

  describe('positions and versions', () => {
    it('appends sections and lessons at 0, 1, 2 with Location, and the ETag GET gives', async () => {
      const courseId = await newCourse();
      const sections: Section[] = [];
      for (const i of range(3)) {
        const res = await postSection(courseId, { title: `Part ${i}` }, owner());
        expect(res.status).toBe(201);
        expect(res.body).toEqual({
          id: expect.any(String),
          courseId,
          title: `Part ${i}`,
          position: i,
          createdAt: expect.any(String),
          updatedAt: res.body.createdAt,
        });
        expect(res.headers.location).toBe(`${COURSES}/${courseId}/sections/${res.body.id}`);
        sections.push(res.body);
      }
      const lessons: Lesson[] = [];
      for (const i of range(3)) {
        const res = await postLesson(
          courseId,
          sections[1]!.id,
          { title: `Lesson ${i}`, kind: 'text' },
          people.admin,
        );
        expect(res.status).toBe(201);
        expect(res.body).toEqual({
          id: expect.any(String),
          courseId,
          sectionId: sections[1]!.id,
          title: `Lesson ${i}`,
          summary: null,
          kind: 'text',
          body: null,
          url: null,
          durationMinutes: null,
          preview: false,
          status: 'draft',
          position: i,
          createdAt: expect.any(String),
          updatedAt: res.body.createdAt,
        });
        expect(res.headers.location).toBe(`${COURSES}/${courseId}/lessons/${res.body.id}`);
        expect(res.headers.etag).toMatch(/^"/);
        const read = await lessonAsOwner(courseId, res.body.id);
        expect(read.body).toEqual(res.body);
        expect(read.etag).toBe(res.headers.etag);
        lessons.push(res.body);
      }
      const { body } = await outline(courseId);
      expectContiguous(body);
      expect(body.sections.map((s) => s.id)).toEqual(sections.map((s) => s.id));
      expect(body.sections[1]!.lessons.map((l) => l.id)).toEqual(lessons.map((l) => l.id));
      expect(body.sections[0]!.lessons).toEqual([]);
    });

    it('closes the gap when a lesson is deleted, and appends after the last one', async () => {
      const courseId = await newCourse();
      const [a, b, c] = [
        await mkSection(courseId, 'A'),
        await mkSection(courseId, 'B'),
        await mkSection(courseId, 'C'),
      ];
      const l: Lesson[] = [];
      for (const i of range(4)) l.push(await mkLesson(courseId, a.id, { title: `l${i}` }));
      const idsOfA = async () => {
        const { body } = await outline(courseId);
        expectContiguous(body);
        return body.sections.find((s) => s.id === a.id)!.lessons.map((x) => x.id);
      };

      expect((await deleteLesson(courseId, l[1]!.id, owner())).status).toBe(204);
      expect(await idsOfA()).toEqual([l[0]!.id, l[2]!.id, l[3]!.id]);
      expect((await lessonAsOwner(courseId, l[2]!.id)).body.position).toBe(1);
      expect((await lessonAsOwner(courseId, l[3]!.id)).body.position).toBe(2);
      expectProblem(await getLesson(courseId, l[1]!.id, owner()), 404, 'not-found');
      expectProblem(await deleteLesson(courseId, l[1]!.id, owner()), 404, 'not-found');

      expect((await deleteLesson(courseId, l[0]!.id, people.admin)).status).toBe(204);
      expect(await idsOfA()).toEqual([l[2]!.id, l[3]!.id]);
      expect((await deleteLesson(courseId, l[3]!.id, owner())).status).toBe(204);
      expect(await idsOfA()).toEqual([l[2]!.id]);
      const appended = await mkLesson(courseId, a.id);
      expect(appended.position).toBe(1);
      expect(await idsOfA()).toEqual([l[2]!.id, appended.id]);
      expect((await outline(courseId)).body.sections.map((s) => s.id)).toEqual([a.id, b.id, c.id]);
    });

    it('closes the gap when a section is deleted, and appends after the last one', async () => {
      const courseId = await newCourse();
      const [a, b, c] = [
        await mkSection(courseId, 'A'),
        await mkSection(courseId, 'B'),
        await mkSection(courseId, 'C'),
      ];
      const kept = await mkLesson(courseId, c.id);
      expect((await deleteSection(courseId, b.id, owner())).status).toBe(204);
      let { body } = await outline(courseId);
      expect(body.sections.map((s) => [s.id, s.position])).toEqual([
        [a.id, 0],
        [c.id, 1],
      ]);
      expectProblem(await deleteSection(courseId, b.id, owner()), 404, 'not-found');
      expectProblem(await patchSection(courseId, b.id, { title: 'x' }, owner()), 404, 'not-found');
      const d = await mkSection(courseId, 'D');
      expect(d.position).toBe(2);
      expect((await deleteSection(courseId, a.id, people.admin)).status).toBe(204);
      ({ body } = await outline(courseId));
      expectContiguous(body);
      expect(body.sections.map((s) => s.id)).toEqual([c.id, d.id]);
      expect(body.sections[0]!.lessons.map((x) => x.id)).toEqual([kept.id]);
    });

    it('renames a section and keeps its place', async () => {
      const courseId = await newCourse();
      const first = await mkSection(courseId, 'First');
      await sleep(5);
      const res = await patchSection(courseId, first.id, { title: 'Renamed' }, owner());
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        ...first,
        title: 'Renamed',
        updatedAt: expect.any(String),
      });
      expect(res.body.updatedAt).not.toBe(first.updatedAt);
      const { body } = await outline(courseId);
      expect(body.sections).toEqual([{ ...res.body, lessons: [] }]);
    });

    it('answers 304 to a matching If-None-Match on getLesson and getCourseOutline', async () => {
      const courseId = await newCourse();
      const section = await mkSection(courseId);
      const lesson = await mkLesson(courseId, section.id, { status: 'published', preview: true });

      const first = await getLesson(courseId, lesson.id);
      expect(first.status).toBe(200);
      const lessonTag = first.headers.etag as string;
      const cached = await getLesson(courseId, lesson.id).set('If-None-Match', lessonTag);
      expect(cached.status).toBe(304);
      expect(cached.text).toBe('');
      expect(cached.headers.etag).toBe(lessonTag);
      expect(
        (await getLesson(courseId, lesson.id).set('If-None-Match', '"something-else"')).status,
      ).toBe(200);

      const o = await getOutline(courseId);
      const outlineTag = o.headers.etag as string;
      expect(outlineTag).toMatch(/^"/);
      const cachedOutline = await getOutline(courseId).set('If-None-Match', outlineTag);
      expect(cachedOutline.status).toBe(304);
      expect(cachedOutline.text).toBe('');

      // A change the caller can see gives both a new version.
      await patchLesson(courseId, lesson.id, { title: 'Changed' }, owner()).expect(200);
      const fresh = await getLesson(courseId, lesson.id).set('If-None-Match', lessonTag);
      expect(fresh.status).toBe(200);
      expect(fresh.body.title).toBe('Changed');
      expect(fresh.headers.etag).not.toBe(lessonTag);
      const freshOutline = await getOutline(courseId).set('If-None-Match', outlineTag);
      expect(freshOutline.status).toBe(200);
      expect(freshOutline.headers.etag).not.toBe(outlineTag);
    });

    it('refuses a stale If-Match on updateLesson with 412 and changes nothing', async () => {
      const courseId = await newCourse();
      const section = await mkSection(courseId);
      const created = await postLesson(
        courseId,
        section.id,
        { title: 'v0', kind: 'text' },
        owner(),
      );
      const v0 = created.headers.etag as string;
      const first = await patchLesson(courseId, created.body.id, { title: 'v1' }, owner(), v0);
      expect(first.status).toBe(200);
      const v1 = first.headers.etag as string;
      expect(v1).toMatch(/^"/);
      expect(v1).not.toBe(v0);
      const read = await lessonAsOwner(courseId, created.body.id);
      expect(read.etag).toBe(v1);
      expect(read.body).toEqual(first.body);

      const stale = await patchLesson(
        courseId,
        created.body.id,
        { title: 'lost update', status: 'published' },
        people.admin,
        v0,
      );
      expectProblem(stale, 412, 'precondition-failed');
      const after = await lessonAsOwner(courseId, created.body.id);
      expect(after.body).toEqual(first.body);
      expect(after.etag).toBe(v1);
      expect((await getCourse(courseId)).body.lessonCount).toBe(0);

      const current = await patchLesson(courseId, created.body.id, { title: 'v2' }, owner(), v1);
      expect(current.status).toBe(200);
      expect(current.body.title).toBe('v2');
      expect(current.headers.etag).toBe((await lessonAsOwner(courseId, created.body.id)).etag);
    });

    it('refuses to delete a section that holds lessons, drafts included (409 section-not-empty)', async () => {
      const courseId = await newCourse();
      const section = await mkSection(courseId);
      const draft = await mkLesson(courseId, section.id);
      const before = await outline(courseId);
      expectProblem(await deleteSection(courseId, section.id, owner()), 409, 'section-not-empty');
      expectProblem(
        await deleteSection(courseId, section.id, people.admin),
        409,
        'section-not-empty',
      );
      const after = await outline(courseId);
      expect(after.body).toEqual(before.body);
      expect(after.etag).toBe(before.etag);
      await deleteLesson(courseId, draft.id, owner()).expect(204);
      expect((await deleteSection(courseId, section.id, owner())).status).toBe(204);
      expect((await outline(courseId)).body.sections).toEqual([]);
    });

    it('treats a section or lesson of another course as unknown (404), and leaves both alone', async () => {
      const courseA = await newCourse();
      const sectionA = await mkSection(courseA, 'A');
      const courseB = await newCourse();
      const sectionB = await mkSection(courseB, 'B');
      const lessonB = await mkLesson(courseB, sectionB.id, { status: 'published', preview: true });
      const [beforeA, beforeB] = [await outline(courseA), await outline(courseB)];

      for (const as of [owner(), people.admin]) {
        expectProblem(
          await patchSection(courseA, sectionB.id, { title: 'x' }, as),
          404,
          'not-found',
        );
        expectProblem(await deleteSection(courseA, sectionB.id, as), 404, 'not-found');
        expectProblem(
          await postLesson(courseA, sectionB.id, { title: 'x', kind: 'text' }, as),
          404,
          'not-found',
        );
        expectProblem(await getLesson(courseA, lessonB.id, as), 404, 'not-found');
        expectProblem(await patchLesson(courseA, lessonB.id, { title: 'x' }, as), 404, 'not-found');
        expectProblem(await deleteLesson(courseA, lessonB.id, as), 404, 'not-found');
        const ghost = crypto.randomUUID();
        expectProblem(await patchSection(courseA, ghost, { title: 'x' }, as), 404, 'not-found');
        expectProblem(await getLesson(courseA, ghost, as), 404, 'not-found');
        expectProblem(
          await postLesson(courseA, ghost, { title: 'x', kind: 'text' }, as),
          404,
          'not-found',
        );
      }
      expectProblem(await getLesson(courseA, lessonB.id), 404, 'not-found');
      expect((await getLesson(courseA, sectionA.id, owner())).status).toBe(404);

      expect(await outline(courseA)).toEqual(beforeA);
      expect(await outline(courseB)).toEqual(beforeB);
      expect((await lessonAsOwner(courseB, lessonB.id)).body).toEqual(lessonB);
    });
  });

  // --- 3. two editors at once ----------------------------------------------------------------

  describe('parallel appends', () => {
    it('gives 10 parallel createLesson from two editors the positions 0..9', async () => {
      const courseId = await newCourse();
      const section = await mkSection(courseId);
      const results = await Promise.all(
        range(10).map((i) =>
          postLesson(
            courseId,
            section.id,
            { title: `Parallel ${i}`, kind: 'text', status: i % 2 ? 'published' : 'draft' },
            i % 2 ? owner() : people.admin,
          ),
        ),
      );
      expect(results.map((r) => r.status)).toEqual(range(10).map(() => 201));
      expect(results.map((r) => r.body.position as number).sort((x, y) => x - y)).toEqual(
        range(10),
      );
      const ids = results.map((r) => r.body.id as string);
      expect(new Set(ids).size).toBe(10);
      const { body } = await outline(courseId);
      expectContiguous(body);
      expect(body.sections[0]!.lessons.map((l) => l.id).sort()).toEqual([...ids].sort());
      for (const r of results) {
        expect(body.sections[0]!.lessons[r.body.position]!.id).toBe(r.body.id);
      }
      expect((await getCourse(courseId)).body.lessonCount).toBe(5);
    });

    it('gives 10 parallel createSection from two editors the positions 0..9', async () => {
      const courseId = await newCourse('draft');
      const results = await Promise.all(
        range(10).map((i) =>
          postSection(courseId, { title: `Part ${i}` }, i % 2 ? owner() : people.admin),
        ),
      );
      expect(results.map((r) => r.status)).toEqual(range(10).map(() => 201));
      expect(results.map((r) => r.body.position as number).sort((x, y) => x - y)).toEqual(
        range(10),
      );
      const { body } = await outline(courseId);
      expectContiguous(body);
      expect(body.sections.map((s) => s.id)).toEqual(
        [...results].sort((x, y) => x.body.position - y.body.position).map((r) => r.body.id),
      );
    });
  });

  // --- 4. replaceCourseOutline ---------------------------------------------------------------

  describe('replaceCourseOutline', () => {
    it('reorders sections and moves lessons between them in one request', async () => {
      const courseId = await newCourse();
      const [a, b, c] = [
        await mkSection(courseId, 'A'),
        await mkSection(courseId, 'B'),
        await mkSection(courseId, 'C'),
      ];
      const a1 = await mkLesson(courseId, a.id, { title: 'a1', status: 'published' });
      const a2 = await mkLesson(courseId, a.id, { title: 'a2', status: 'published' });
      const a3 = await mkLesson(courseId, a.id, { title: 'a3' });
      const b1 = await mkLesson(courseId, b.id, { title: 'b1', status: 'published' });
      const before = await outline(courseId);
      await sleep(5);

      const res = await putOutline(
        courseId,
        {
          sections: [
            { id: a.id, lessonIds: [a1.id] },
            { id: c.id, lessonIds: [b1.id, a3.id, a2.id] },
            { id: b.id, lessonIds: [] },
          ],
        },
        owner(),
      );
      expect(res.status).toBe(200);
      const after = await outline(courseId);
      expect(res.body).toEqual(after.body);
      expect(res.headers.etag).toBe(after.etag);
      expect(after.etag).not.toBe(before.etag);

      const o = after.body;
      expectContiguous(o);
      expect(o.sections.map((s) => [s.id, s.title])).toEqual([
        [a.id, 'A'],
        [c.id, 'C'],
        [b.id, 'B'],
      ]);
      expect(o.sections.map((s) => s.lessons.map((l) => l.title))).toEqual([
        ['a1'],
        ['b1', 'a3', 'a2'],
        [],
      ]);
      for (const [lesson, sectionId, position] of [
        [a1, a.id, 0],
        [b1, c.id, 0],
        [a3, c.id, 1],
        [a2, c.id, 2],
      ] as const) {
        const read = (await lessonAsOwner(courseId, lesson.id)).body;
        expect(read).toEqual({ ...lesson, sectionId, position, updatedAt: expect.any(String) });
        // What did not move keeps its updatedAt; what moved gets a new one.
        if (lesson === a1) expect(read.updatedAt).toBe(a1.updatedAt);
        else expect(read.updatedAt).not.toBe(lesson.updatedAt);
      }
      const was = (id: string) => before.body.sections.find((s) => s.id === id)!;
      expect(o.sections[0]!.updatedAt).toBe(was(a.id).updatedAt);
      expect(o.sections[1]!.updatedAt).not.toBe(was(c.id).updatedAt);
      expect(o.sections[2]!.updatedAt).not.toBe(was(b.id).updatedAt);

      // A student sees the same order, published lessons only, at their positions: a gap where
      // the draft sits.
      const seen = (await outline(courseId, people.student)).body;
      expect(seen.sections.map((s) => s.lessons.map((l) => [l.title, l.position]))).toEqual([
        [['a1', 0]],
        [
          ['b1', 0],
          ['a2', 2],
        ],
        [],
      ]);
      // Counters do not move with the lessons.
      expect((await getCourse(courseId)).body.lessonCount).toBe(3);
    });

    describe('refuses an outline that does not name each section and lesson exactly once', () => {
      interface Ids {
        a: string;
        b: string;
        a1: string;
        a2: string;
        b1: string;
        otherSection: string;
        otherLesson: string;
        ghost: string;
      }
      let courseId: string;
      let otherCourse: string;
      let ids: Ids;
      beforeAll(async () => {
        courseId = await newCourse();
        const a = await mkSection(courseId, 'A');
        const b = await mkSection(courseId, 'B');
        const a1 = await mkLesson(courseId, a.id, { status: 'published' });
        const a2 = await mkLesson(courseId, a.id, { status: 'published' });
        const b1 = await mkLesson(courseId, b.id); // a draft
        otherCourse = await newCourse();
        const otherSection = await mkSection(otherCourse, 'Elsewhere');
        const otherLesson = await mkLesson(otherCourse, otherSection.id);
        ids = {
          a: a.id,
          b: b.id,
          a1: a1.id,
          a2: a2.id,
          b1: b1.id,
          otherSection: otherSection.id,
          otherLesson: otherLesson.id,
          ghost: crypto.randomUUID(),
        };
      });

      const cases: [string, (i: Ids) => OutlineBody][] = [
        ['a section left out', (i) => ({ sections: [{ id: i.a, lessonIds: [i.a1, i.a2, i.b1] }] })],
        [
          'a lesson left out',
          (i) => ({
            sections: [
              { id: i.a, lessonIds: [i.a1] },
              { id: i.b, lessonIds: [i.b1] },
            ],
          }),
        ],
        [
          'a draft lesson left out',
          (i) => ({
            sections: [
              { id: i.a, lessonIds: [i.a1, i.a2] },
              { id: i.b, lessonIds: [] },
            ],
          }),
        ],
        [
          'a lesson named in two sections',
          (i) => ({
            sections: [
              { id: i.a, lessonIds: [i.a1, i.a2] },
              { id: i.b, lessonIds: [i.b1, i.a1] },
            ],
          }),
        ],
        [
          'a section named twice',
          (i) => ({
            sections: [
              { id: i.a, lessonIds: [i.a1, i.a2] },
              { id: i.b, lessonIds: [i.b1] },
              { id: i.a, lessonIds: [] },
            ],
          }),
        ],
        [
          'an unknown lesson',
          (i) => ({
            sections: [
              { id: i.a, lessonIds: [i.a1, i.a2, i.ghost] },
              { id: i.b, lessonIds: [i.b1] },
            ],
          }),
        ],
        [
          'an unknown section',
          (i) => ({
            sections: [
              { id: i.a, lessonIds: [i.a1, i.a2] },
              { id: i.b, lessonIds: [i.b1] },
              { id: i.ghost, lessonIds: [] },
            ],
          }),
        ],
        [
          "another course's lesson",
          (i) => ({
            sections: [
              { id: i.a, lessonIds: [i.a1, i.a2, i.otherLesson] },
              { id: i.b, lessonIds: [i.b1] },
            ],
          }),
        ],
        [
          "another course's section in place of one",
          (i) => ({
            sections: [
              { id: i.a, lessonIds: [i.a1, i.a2] },
              { id: i.otherSection, lessonIds: [i.b1] },
            ],
          }),
        ],
        [
          "another course's section besides the others",
          (i) => ({
            sections: [
              { id: i.a, lessonIds: [i.a1, i.a2] },
              { id: i.b, lessonIds: [i.b1] },
              { id: i.otherSection, lessonIds: [i.otherLesson] },
            ],
          }),
        ],
        ['no section at all', () => ({ sections: [] })],
      ];

      it.each(cases)('409 outline-mismatch for %s, and nothing changes', async (_name, body) => {
        const [before, otherBefore] = [await outline(courseId), await outline(otherCourse)];
        const res = await putOutline(courseId, body(ids), owner(), before.etag);
        expectProblem(res, 409, 'outline-mismatch');
        const after = await outline(courseId);
        expect(after.body).toEqual(before.body);
        expect(after.etag).toBe(before.etag);
        expect(await outline(otherCourse)).toEqual(otherBefore);
      });

      it('400 for the same lesson twice in one lessonIds, and nothing changes', async () => {
        const before = await outline(courseId);
        const res = await putOutline(
          courseId,
          {
            sections: [
              { id: ids.b, lessonIds: [ids.b1] },
              { id: ids.a, lessonIds: [ids.a2, ids.a1, ids.a2] },
            ],
          },
          owner(),
        );
        expectProblem(res, 400, 'validation-error');
        expect(await outline(courseId)).toEqual(before);
      });

      it('still takes the exact outline (200) after all those refusals', async () => {
        const before = await outline(courseId);
        const res = await putOutline(courseId, orderOf(before.body), people.admin);
        expect(res.status).toBe(200);
        expect(res.body).toEqual(before.body);
      });
    });

    it('checks If-Match first: stale is 412 and changes nothing, current works', async () => {
      const courseId = await newCourse();
      const a = await mkSection(courseId, 'A');
      const b = await mkSection(courseId, 'B');
      const lesson = await mkLesson(courseId, a.id);
      const v0 = await outline(courseId);
      const swap = {
        sections: [
          { id: b.id, lessonIds: [lesson.id] },
          { id: a.id, lessonIds: [] },
        ],
      };

      const renamed = await patchSection(courseId, a.id, { title: 'A, renamed' }, owner());
      expect(renamed.status).toBe(200);
      const v1 = await outline(courseId);
      expect(v1.etag).not.toBe(v0.etag);

      expectProblem(await putOutline(courseId, swap, owner(), v0.etag), 412, 'precondition-failed');
      // Checked before the body: a stale version with a wrong body is still a 412.
      expectProblem(
        await putOutline(courseId, { sections: [] }, owner(), v0.etag),
        412,
        'precondition-failed',
      );
      expect(await outline(courseId)).toEqual(v1);

      const ok = await putOutline(courseId, swap, people.admin, v1.etag);
      expect(ok.status).toBe(200);
      expect(ok.body.sections.map((s: Section) => s.id)).toEqual([b.id, a.id]);
      const v2 = await outline(courseId);
      expect(ok.headers.etag).toBe(v2.etag);
      expectProblem(
        await putOutline(courseId, orderOf(v2.body), owner(), v1.etag),
        412,
        'precondition-failed',
      );
      expect((await putOutline(courseId, orderOf(v2.body), owner(), v2.etag)).status).toBe(200);
    });

    it('stays consistent when replaceCourseOutline races createLesson and deleteLesson', async () => {
      const courseId = await newCourse();
      const a = await mkSection(courseId, 'A');
      const b = await mkSection(courseId, 'B');
      const live = new Set<string>();
      for (const s of [a, a, a, b, b]) live.add((await mkLesson(courseId, s.id)).id);

      for (const round of range(6)) {
        const current = (await outline(courseId)).body;
        // Reverse everything, and move the first lesson of the first section to the last one.
        const order = orderOf(current);
        order.sections.reverse();
        for (const s of order.sections) s.lessonIds.reverse();
        const moved = order.sections[order.sections.length - 1]!.lessonIds.shift();
        if (moved) order.sections[0]!.lessonIds.push(moved);
        const victim = round % 2 ? [...live][0]! : undefined;

        const [replaced, ...writes] = await Promise.all([
          putOutline(courseId, order, round % 2 ? owner() : people.admin),
          postLesson(courseId, a.id, { title: `new ${round}a`, kind: 'text' }, owner()),
          postLesson(courseId, b.id, { title: `new ${round}b`, kind: 'text' }, people.admin),
          ...(victim ? [deleteLesson(courseId, victim, owner())] : []),
        ]);
        for (const w of writes) expect([201, 204]).toContain(w.status);
        for (const w of writes) if (w.status === 201) live.add(w.body.id);
        if (victim) live.delete(victim);
        expect([200, 409]).toContain(replaced.status);
        if (replaced.status === 409) {
          expect([`${PROBLEM}outline-mismatch`, `${PROBLEM}conflict`]).toContain(
            replaced.body.type,
          );
        }

        const after = (await outline(courseId)).body;
        expectContiguous(after);
        const all = after.sections.flatMap((s) => s.lessons.map((l) => l.id));
        expect(all.length).toBe(new Set(all).size);
        expect([...all].sort()).toEqual([...live].sort());
        if (replaced.status === 200) {
          // It ran on the outline it named: its order holds, and later appends follow it.
          expect(after.sections.map((s) => s.id)).toEqual(order.sections.map((s) => s.id));
          for (const [i, s] of order.sections.entries()) {
            const kept = after.sections[i]!.lessons.map((l) => l.id).filter((id) =>
              s.lessonIds.includes(id),
            );
            expect(kept).toEqual(s.lessonIds.filter((id) => live.has(id)));
          }
        }
      }
    });
  });

  // --- 5. lesson rules and limits ------------------------------------------------------------

  describe('lesson rules and limits', () => {
    let courseId: string;
    let section: Section;
    beforeAll(async () => {
      courseId = await newCourse();
      section = await mkSection(courseId);
    });
    const create = (body: Record<string, unknown>) =>
      postLesson(courseId, section.id, { title: 'Rules', kind: 'text', ...body }, owner());
    const lessonCount = async () =>
      (await outline(courseId)).body.sections.reduce((n, s) => n + s.lessons.length, 0);

    const expectUrlError = (res: Response) => {
      expectProblem(res, 400, 'validation-error');
      expect(res.body.errors).toEqual(
        expect.arrayContaining([{ path: 'body.url', message: expect.any(String) }]),
      );
    };

    it('needs a url for a video or link lesson (400 at body.url), on create', async () => {
      const count = await lessonCount();
      for (const kind of ['video', 'link']) {
        expectUrlError(await create({ kind }));
        expectUrlError(await create({ kind, url: null }));
        const ok = await create({ kind, url: 'https://videos.example.com/a.mp4' });
        expect(ok.status).toBe(201);
        expect(ok.body).toMatchObject({ kind, url: 'https://videos.example.com/a.mp4' });
      }
      expect(await lessonCount()).toBe(count + 2);
    });

    it('needs a url after an update that switches kind or clears the url, and changes nothing', async () => {
      const text = await mkLesson(courseId, section.id, { title: 'Plain' });
      const before = await lessonAsOwner(courseId, text.id);
      expectUrlError(await patchLesson(courseId, text.id, { kind: 'video' }, owner()));
      expectUrlError(
        await patchLesson(courseId, text.id, { kind: 'link', title: 'Now a link' }, owner()),
      );
      expect(await lessonAsOwner(courseId, text.id)).toEqual(before);

      const video = await patchLesson(
        courseId,
        text.id,
        { kind: 'video', url: 'https://videos.example.com/b.mp4' },
        owner(),
      );
      expect(video.status).toBe(200);
      const asVideo = await lessonAsOwner(courseId, text.id);
      expectUrlError(await patchLesson(courseId, text.id, { url: null }, owner()));
      expect(await lessonAsOwner(courseId, text.id)).toEqual(asVideo);

      const back = await patchLesson(courseId, text.id, { kind: 'text', url: null }, owner());
      expect(back.status).toBe(200);
      expect(back.body).toMatchObject({ kind: 'text', url: null });
    });

    it('takes only absolute https URLs of at most 2,000 characters', async () => {
      const lesson = await mkLesson(courseId, section.id, {
        kind: 'link',
        url: 'https://example.com/',
      });
      for (const url of [
        'http://example.com/page',
        'ftp://example.com/file',
        'example.com/page',
        'javascript:alert(1)',
        `https://example.com/${'a'.repeat(2000)}`,
      ]) {
        const created = await create({ kind: 'link', url });
        expectProblem(created, 400, 'validation-error');
        expect(created.body.errors.map((e: { path: string }) => e.path)).toContain('body.url');
        expectProblem(
          await patchLesson(courseId, lesson.id, { url }, owner()),
          400,
          'validation-error',
        );
      }
      const longest = `https://example.com/${'a'.repeat(2000 - 20)}`;
      expect(longest).toHaveLength(2000);
      expect((await create({ kind: 'link', url: longest })).status).toBe(201);
      expect((await lessonAsOwner(courseId, lesson.id)).body.url).toBe('https://example.com/');
    });

    it('bounds title (1 to 200 characters), summary (500) and durationMinutes (0 to 1,440)', async () => {
      const emojiTitle = EMOJI.repeat(200);
      const long = await create({ title: emojiTitle });
      expect(long.status).toBe(201);
      expect(long.body.title).toBe(emojiTitle);
      expect((await lessonAsOwner(courseId, long.body.id)).body.title).toBe(emojiTitle);
      const okBodies = [
        { title: 'x'.repeat(200) },
        { summary: 'x'.repeat(500) },
        { summary: EMOJI.repeat(500) },
        { durationMinutes: 0 },
        { durationMinutes: 1440 },
      ];
      for (const body of okBodies) {
        const res = await create(body);
        expect(res.status).toBe(201);
        expect(res.body).toMatchObject(body);
      }
      const bad = [
        { title: '' },
        { title: 'x'.repeat(201) },
        { title: EMOJI.repeat(201) },
        { title: null },
        { summary: 'x'.repeat(501) },
        { durationMinutes: -1 },
        { durationMinutes: 1441 },
        { durationMinutes: 2.5 },
        { durationMinutes: '10' },
        { kind: 'audio' },
        { status: 'archived' },
        { preview: 'yes' },
      ];
      const count = await lessonCount();
      for (const body of bad) {
        expectProblem(await create(body), 400, 'validation-error');
        expectProblem(
          await patchLesson(courseId, long.body.id, body, owner()),
          400,
          'validation-error',
        );
      }
      expect(await lessonCount()).toBe(count);
      expect((await lessonAsOwner(courseId, long.body.id)).body).toEqual(long.body);
      // Section titles have the same bounds.
      expect((await postSection(courseId, { title: EMOJI.repeat(200) }, owner())).status).toBe(201);
      for (const title of ['', 'x'.repeat(201)]) {
        expectProblem(await postSection(courseId, { title }, owner()), 400, 'validation-error');
        expectProblem(
          await patchSection(courseId, section.id, { title }, owner()),
          400,
          'validation-error',
        );
      }
    });

    it('takes a body of 60,000 emoji (about 240 kB) on create and update, not one character more', async () => {
      const big = EMOJI.repeat(60_000);
      expect(Buffer.byteLength(big)).toBe(240_000);
      const created = await create({ body: big });
      expect(created.status).toBe(201);
      expect(created.body.body === big).toBe(true);
      expect((await lessonAsOwner(courseId, created.body.id)).body.body === big).toBe(true);

      const plain = await mkLesson(courseId, section.id);
      const updated = await patchLesson(courseId, plain.id, { body: big }, owner());
      expect(updated.status).toBe(200);
      expect((await lessonAsOwner(courseId, plain.id)).body.body === big).toBe(true);

      expectProblem(await create({ body: 'x'.repeat(60_001) }), 400, 'validation-error');
      expectProblem(
        await patchLesson(courseId, plain.id, { body: `${big}x` }, owner()),
        400,
        'validation-error',
      );
      expect((await lessonAsOwner(courseId, plain.id)).body.body === big).toBe(true);
    });

    it('answers 413 to a 300 kB body on createLesson and updateLesson, and keeps 100 kB elsewhere', async () => {
      const lesson = await mkLesson(courseId, section.id);
      const count = await lessonCount();
      const huge = 'x'.repeat(300_000);
      expectProblem(await create({ body: huge }), 413, 'payload-too-large');
      expectProblem(
        await patchLesson(courseId, lesson.id, { body: huge }, owner()),
        413,
        'payload-too-large',
      );
      expect(await lessonCount()).toBe(count);
      expect((await lessonAsOwner(courseId, lesson.id)).body.body).toBeNull();

      const over100k = 'x'.repeat(150_000);
      expectProblem(
        await postSection(courseId, { title: over100k }, owner()),
        413,
        'payload-too-large',
      );
      expectProblem(
        await patchSection(courseId, section.id, { title: over100k }, owner()),
        413,
        'payload-too-large',
      );
      expectProblem(
        await putOutline(courseId, { sections: [], padding: over100k }, owner()),
        413,
        'payload-too-large',
      );
    });

    it('refuses unknown properties, a section or position on update, and an empty PATCH (400)', async () => {
      const lesson = await mkLesson(courseId, section.id);
      const other = await mkSection(courseId, 'Other');
      const before = await lessonAsOwner(courseId, lesson.id);
      const count = await lessonCount();
      for (const extra of [
        { color: 'red' },
        { position: 0 },
        { sectionId: other.id },
        { id: crypto.randomUUID() },
        { courseId },
        { createdAt: new Date().toISOString() },
      ]) {
        expectProblem(await create(extra), 400, 'validation-error');
        expectProblem(
          await patchLesson(courseId, lesson.id, { title: 'changed', ...extra }, owner()),
          400,
          'validation-error',
        );
      }
      expectProblem(
        await patchLesson(courseId, lesson.id, { position: 3 }, owner()),
        400,
        'validation-error',
      );
      expectProblem(
        await patchLesson(courseId, lesson.id, { sectionId: other.id }, owner()),
        400,
        'validation-error',
      );
      expectProblem(await patchLesson(courseId, lesson.id, {}, owner()), 400, 'validation-error');
      expectProblem(
        await postLesson(courseId, section.id, { title: 'no kind' }, owner()),
        400,
        'validation-error',
      );
      expect(await lessonAsOwner(courseId, lesson.id)).toEqual(before);
      expect(await lessonCount()).toBe(count);

      expectProblem(await patchSection(courseId, other.id, {}, owner()), 400, 'validation-error');
      expectProblem(
        await patchSection(courseId, other.id, { title: 'x', position: 0 }, owner()),
        400,
        'validation-error',
      );
      expectProblem(
        await postSection(courseId, { title: 'x', position: 0 }, owner()),
        400,
        'validation-error',
      );
      expectProblem(
        await putOutline(
          courseId,
          { ...orderOf((await outline(courseId)).body), extra: 1 },
          owner(),
        ),
        400,
        'validation-error',
      );
    });

    it('clears summary, body, url and durationMinutes with null and leaves the rest', async () => {
      const full = await mkLesson(courseId, section.id, {
        title: 'Full',
        summary: 'Short.',
        kind: 'text',
        body: '# Notes',
        url: 'https://example.com/notes',
        durationMinutes: 9,
        preview: true,
        status: 'published',
      });
      const res = await patchLesson(
        courseId,
        full.id,
        { summary: null, body: null, url: null, durationMinutes: null },
        owner(),
      );
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        ...full,
        summary: null,
        body: null,
        url: null,
        durationMinutes: null,
        updatedAt: expect.any(String),
      });
      expect((await lessonAsOwner(courseId, full.id)).body).toEqual(res.body);
    });
  });

  // --- 6. course counters --------------------------------------------------------------------

  describe('course counters', () => {
    it('counts published lessons and their minutes on getCourse and listCourses, drafts never', async () => {
      const instructor = await createUser(t(), { role: 'instructor' });
      const courseId = await newCourse('published', instructor);
      const section = await mkSection(courseId, 'Only', instructor);
      let lastTag = '';
      const expectCounters = async (lessonCount: number, totalDurationMinutes: number) => {
        const got = await getCourse(courseId);
        expect(got.status).toBe(200);
        expect(got.body).toMatchObject({ lessonCount, totalDurationMinutes });
        const listed = await t().request().get(`${COURSES}?instructorId=${instructor.id}&limit=10`);
        expect(listed.status).toBe(200);
        expect(listed.body.items).toEqual([got.body]);
        const tag = got.headers.etag as string;
        expect(tag).toMatch(/^"/);
        return tag;
      };
      /** A change that moves the counters must change the course's ETag too. */
      const expectChanged = async (lessonCount: number, minutes: number) => {
        const tag = await expectCounters(lessonCount, minutes);
        expect(tag).not.toBe(lastTag);
        lastTag = tag;
      };
      const mk = (body: Record<string, unknown>) =>
        mkLesson(courseId, section.id, body, instructor);
      const patch = async (id: string, body: Record<string, unknown>) =>
        expect((await patchLesson(courseId, id, body, instructor)).status).toBe(200);

      lastTag = await expectCounters(0, 0);
      const ten = await mk({ durationMinutes: 10, status: 'published' });
      await expectChanged(1, 10);
      const twenty = await mk({ durationMinutes: 20 });
      await expectCounters(1, 10);
      const unstated = await mk({ status: 'published' });
      await expectChanged(2, 10);
      await patch(twenty.id, { status: 'published' });
      await expectChanged(3, 30);
      await patch(ten.id, { durationMinutes: 15 });
      await expectChanged(3, 35);
      const draft = await mk({ durationMinutes: 7 });
      await patch(draft.id, { durationMinutes: 8, title: 'Still a draft' });
      await expectCounters(3, 35);
      await patch(twenty.id, { status: 'draft' });
      await expectChanged(2, 15);
      await patch(unstated.id, { durationMinutes: 1440 });
      await expectChanged(2, 1455);
      await patch(unstated.id, { durationMinutes: null });
      await expectChanged(2, 15);
      expect((await deleteLesson(courseId, draft.id, instructor)).status).toBe(204);
      expect((await deleteLesson(courseId, twenty.id, people.admin)).status).toBe(204);
      await expectCounters(2, 15);
      expect((await deleteLesson(courseId, ten.id, instructor)).status).toBe(204);
      await expectChanged(1, 0);
      expect((await deleteLesson(courseId, unstated.id, people.admin)).status).toBe(204);
      await expectChanged(0, 0);
      // A published lesson counts at once, and moving it to another section keeps the counters.
      const other = await mkSection(courseId, 'Second', instructor);
      const moving = await mk({ durationMinutes: 5, status: 'published' });
      await expectChanged(1, 5);
      const moved = await putOutline(
        courseId,
        {
          sections: [
            { id: other.id, lessonIds: [moving.id] },
            { id: section.id, lessonIds: [] },
          ],
        },
        instructor,
      );
      expect(moved.status).toBe(200);
      await expectCounters(1, 5);
    });
  });
});
