import { and, eq } from 'drizzle-orm';
import { describeEachDatabase, type TestApp } from '../helpers/app';
import { DIALECTS } from '../helpers/databases';
import { buildInstances } from '../helpers/instances';
import { bearer, createUser, type TestUser } from '../helpers/users';

const API = '/api/v1';
const COURSES = `${API}/courses`;
const PROBLEM = 'https://opencourse.dev/problems/';
const describePg = DIALECTS.includes('postgresql') ? describe : describe.skip;

interface Progress {
  completedLessons: number;
  totalLessons: number;
  percent: number;
  completedAt: string | null;
}

/** A fresh millisecond, so two completions made one after the other have different times. */
const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

const progressOnly = (p: Progress): Progress => ({
  completedLessons: p.completedLessons,
  totalLessons: p.totalLessons,
  percent: p.percent,
  completedAt: p.completedAt,
});

/** The calls this file makes, on one app instance. */
function client(t: () => TestApp) {
  const req = () => t().request();
  const api = {
    async course(owner: TestUser, body: Record<string, unknown> = {}) {
      const res = await req()
        .post(COURSES)
        .set(bearer(owner))
        .send({ title: 'Progress', status: 'published', ...body });
      expect(res.status).toBe(201);
      return res.body.id as string;
    },
    async section(owner: TestUser, courseId: string, title = 'Section') {
      const res = await req()
        .post(`${COURSES}/${courseId}/sections`)
        .set(bearer(owner))
        .send({ title });
      expect(res.status).toBe(201);
      return res.body.id as string;
    },
    async lesson(
      owner: TestUser,
      courseId: string,
      sectionId: string,
      body: Record<string, unknown> = {},
    ) {
      const res = await req()
        .post(`${COURSES}/${courseId}/sections/${sectionId}/lessons`)
        .set(bearer(owner))
        .send({ title: 'Lesson', kind: 'text', body: 'Read me.', status: 'published', ...body });
      expect(res.status).toBe(201);
      return res.body.id as string;
    },
    async setStatus(owner: TestUser, courseId: string, lessonId: string, status: string) {
      const res = await req()
        .patch(`${COURSES}/${courseId}/lessons/${lessonId}`)
        .set(bearer(owner))
        .send({ status });
      expect(res.status).toBe(200);
      expect(res.body.status).toBe(status);
    },
    async deleteLesson(owner: TestUser, courseId: string, lessonId: string) {
      expect(
        (await req().delete(`${COURSES}/${courseId}/lessons/${lessonId}`).set(bearer(owner)))
          .status,
      ).toBe(204);
    },
    /** A published course of `owner` with one section and `n` published lessons. */
    async courseWithLessons(owner: TestUser, n: number) {
      const courseId = await api.course(owner);
      const sectionId = await api.section(owner, courseId);
      const lessons: string[] = [];
      for (let i = 0; i < n; i += 1) {
        lessons.push(await api.lesson(owner, courseId, sectionId, { title: `Lesson ${i}` }));
      }
      return { courseId, sectionId, lessons };
    },
    complete: (courseId: string, lessonId: string, as?: TestUser) => {
      const r = req().put(`${COURSES}/${courseId}/lessons/${lessonId}/completion`);
      return as ? r.set(bearer(as)) : r;
    },
    uncomplete: (courseId: string, lessonId: string, as?: TestUser) => {
      const r = req().delete(`${COURSES}/${courseId}/lessons/${lessonId}/completion`);
      return as ? r.set(bearer(as)) : r;
    },
    progress: (courseId: string, as?: TestUser) => {
      const r = req().get(`${COURSES}/${courseId}/progress`);
      return as ? r.set(bearer(as)) : r;
    },
    /** Completes the lesson (200) and gives its completedAt. */
    async done(courseId: string, lessonId: string, as: TestUser) {
      const res = await api.complete(courseId, lessonId, as);
      expect(res.status).toBe(200);
      return res.body.completedAt as string;
    },
    /** getCourseProgress's body, 200 expected. */
    async progressOf(courseId: string, as: TestUser) {
      const res = await api.progress(courseId, as);
      expect(res.status).toBe(200);
      return res.body as Progress & {
        courseId: string;
        lessons: { lessonId: string; completedAt: string | null }[];
      };
    },
    enroll: (courseId: string, as: TestUser) =>
      req().post(`${COURSES}/${courseId}/enroll`).set(bearer(as)),
    leave: (courseId: string, as: TestUser) =>
      req().delete(`${COURSES}/${courseId}/enroll`).set(bearer(as)),
    /** The roster entry of `student` in the course, as `manager` reads it. */
    async rosterEntry(courseId: string, manager: TestUser, student: TestUser) {
      const res = await req()
        .get(`${COURSES}/${courseId}/enrollments?limit=100`)
        .set(bearer(manager));
      expect(res.status).toBe(200);
      return (
        res.body.items as { user: { id: string }; status: string; progress: Progress }[]
      ).find((e) => e.user.id === student.id);
    },
    /** The student's own listMyEnrollments item for the course. */
    async myEnrollment(courseId: string, student: TestUser) {
      const res = await req().get(`${API}/users/me/enrollments?limit=100`).set(bearer(student));
      expect(res.status).toBe(200);
      return (res.body.items as { courseId: string; status: string; progress: Progress }[]).find(
        (e) => e.courseId === courseId,
      );
    },
    /** The getCurrentUser summary item for the course (active enrollments only). */
    async summaryItem(courseId: string, student: TestUser) {
      const res = await req().get(`${API}/users/me`).set(bearer(student));
      expect(res.status).toBe(200);
      return (
        res.body.enrollments.items as {
          course: { id: string };
          status: string;
          progress: Progress;
        }[]
      ).find((e) => e.course.id === courseId);
    },
    async lessonCount(courseId: string, as: TestUser) {
      const res = await req().get(`${COURSES}/${courseId}`).set(bearer(as));
      expect(res.status).toBe(200);
      return res.body.lessonCount as number;
    },
  };
  return api;
}

describeEachDatabase('progress: completions and who may make them', (t) => {
  const api = client(t);
  let owner: TestUser;
  let otherInstructor: TestUser;
  let admin: TestUser;

  beforeAll(async () => {
    owner = await createUser(t(), { role: 'instructor', name: 'Grace Hopper' });
    otherInstructor = await createUser(t(), { role: 'instructor' });
    admin = await createUser(t(), { role: 'admin' });
  });

  const expectProblem = (
    res: { status: number; body: { type?: string } },
    status: number,
    type: string,
  ) => {
    expect({ status: res.status, type: res.body.type }).toEqual({
      status,
      type: `${PROBLEM}${type}`,
    });
  };

  /** Tries all three operations on a course and a lesson, as `as`. */
  const allThree = async (courseId: string, lessonId: string, as?: TestUser) => ({
    complete: await api.complete(courseId, lessonId, as),
    uncomplete: await api.uncomplete(courseId, lessonId, as),
    progress: await api.progress(courseId, as),
  });

  describe('the permission matrix of completeLesson, uncompleteLesson and getCourseProgress', () => {
    let courseId: string;
    let lessonId: string;
    let draftLessonId: string;
    let otherCourseId: string;
    let otherLessonId: string;
    let enrolled: TestUser;

    beforeAll(async () => {
      const built = await api.courseWithLessons(owner, 1);
      courseId = built.courseId;
      lessonId = built.lessons[0]!;
      draftLessonId = await api.lesson(owner, courseId, built.sectionId, {
        title: 'Not yet',
        status: 'draft',
      });
      const other = await api.courseWithLessons(owner, 1);
      otherCourseId = other.courseId;
      otherLessonId = other.lessons[0]!;
      enrolled = await createUser(t());
      expect((await api.enroll(courseId, enrolled)).status).toBe(201);
      expect((await api.enroll(otherCourseId, enrolled)).status).toBe(201);
    });

    it('answers 401 to an anonymous caller', async () => {
      const res = await allThree(courseId, lessonId);
      for (const r of [res.complete, res.uncomplete, res.progress])
        expectProblem(r, 401, 'unauthorized');
    });

    it('answers 403 enrollment-required to a student who never enrolled', async () => {
      const stranger = await createUser(t());
      const res = await allThree(courseId, lessonId, stranger);
      for (const r of [res.complete, res.uncomplete, res.progress]) {
        expectProblem(r, 403, 'enrollment-required');
      }
      // A free preview may be read without enrolling, not completed.
      const open = await api.courseWithLessons(owner, 0);
      const preview = await api.lesson(owner, open.courseId, open.sectionId, { preview: true });
      expect(
        (await t().request().get(`${COURSES}/${open.courseId}/lessons/${preview}`)).status,
      ).toBe(200);
      expectProblem(
        await api.complete(open.courseId, preview, stranger),
        403,
        'enrollment-required',
      );
    });

    it('keeps a student’s completions and progress out of every cache (no-store)', async () => {
      const res = await allThree(courseId, lessonId, enrolled);
      expect(
        [res.complete, res.uncomplete, res.progress].map((r) => ({
          status: r.status,
          cacheControl: r.headers['cache-control'],
        })),
      ).toEqual([
        { status: 200, cacheControl: 'no-store' },
        { status: 204, cacheControl: 'no-store' },
        { status: 200, cacheControl: 'no-store' },
      ]);
    });

    it('refuses completions on a cancelled enrollment (403) but still shows its progress (200)', async () => {
      const former = await createUser(t());
      expect((await api.enroll(courseId, former)).status).toBe(201);
      const completedAt = await api.done(courseId, lessonId, former);
      expect((await api.leave(courseId, former)).status).toBe(204);

      const res = await allThree(courseId, lessonId, former);
      expectProblem(res.complete, 403, 'enrollment-required');
      expectProblem(res.uncomplete, 403, 'enrollment-required');
      expect(res.progress.status).toBe(200);
      expect(res.progress.body).toEqual({
        courseId,
        completedLessons: 1,
        totalLessons: 1,
        percent: 100,
        completedAt,
        lessons: [{ lessonId, completedAt }],
      });
      // The refused uncompletion changed nothing.
      expect((await api.progressOf(courseId, former)).completedLessons).toBe(1);
    });

    it('answers 403 enrollment-required to the owner and an admin, who hold no enrollment', async () => {
      for (const as of [owner, admin]) {
        const res = await allThree(courseId, lessonId, as);
        for (const r of [res.complete, res.uncomplete, res.progress]) {
          expectProblem(r, 403, 'enrollment-required');
        }
      }
    });

    it('answers 404 for a draft lesson, to an enrolled student and to its owner alike', async () => {
      for (const as of [enrolled, owner, admin, await createUser(t())]) {
        expectProblem(await api.complete(courseId, draftLessonId, as), 404, 'not-found');
        expectProblem(await api.uncomplete(courseId, draftLessonId, as), 404, 'not-found');
      }
      // Nothing was recorded for the draft, even once it is published.
      await api.setStatus(owner, courseId, draftLessonId, 'published');
      const after = await api.progressOf(courseId, enrolled);
      expect(after.lessons.find((l) => l.lessonId === draftLessonId)).toEqual({
        lessonId: draftLessonId,
        completedAt: null,
      });
      await api.setStatus(owner, courseId, draftLessonId, 'draft');
    });

    it('answers 404 for a course the caller cannot see', async () => {
      // A draft course of another instructor, and one that does not exist.
      const hidden = await api.courseWithLessons(otherInstructor, 1);
      const draftCourse = await api.course(otherInstructor, { status: 'draft' });
      const draftSection = await api.section(otherInstructor, draftCourse);
      const draftCourseLesson = await api.lesson(otherInstructor, draftCourse, draftSection);
      for (const as of [enrolled, owner]) {
        const res = await allThree(draftCourse, draftCourseLesson, as);
        for (const r of [res.complete, res.uncomplete, res.progress])
          expectProblem(r, 404, 'not-found');
      }
      const unknown = crypto.randomUUID();
      const res = await allThree(unknown, hidden.lessons[0]!, enrolled);
      for (const r of [res.complete, res.uncomplete, res.progress])
        expectProblem(r, 404, 'not-found');

      // A course archived after the student enrolled: the enrollment is active, the course hidden.
      const archived = await api.courseWithLessons(owner, 1);
      const student = await createUser(t());
      expect((await api.enroll(archived.courseId, student)).status).toBe(201);
      await api.done(archived.courseId, archived.lessons[0]!, student);
      const put = await t()
        .request()
        .put(`${COURSES}/${archived.courseId}`)
        .set(bearer(owner))
        .send({
          title: 'Progress',
          description: '',
          category: null,
          level: null,
          language: 'en',
          status: 'archived',
          capacity: null,
        });
      expect(put.status).toBe(200);
      const gone = await allThree(archived.courseId, archived.lessons[0]!, student);
      for (const r of [gone.complete, gone.uncomplete, gone.progress]) {
        expectProblem(r, 404, 'not-found');
      }
    });

    it('answers 404 for a lesson of another course, or of none', async () => {
      // The student is enrolled in both courses: only the pairing is wrong.
      for (const missing of [otherLessonId, crypto.randomUUID()]) {
        expectProblem(await api.complete(courseId, missing, enrolled), 404, 'not-found');
        expectProblem(await api.uncomplete(courseId, missing, enrolled), 404, 'not-found');
      }
      const mine = await api.progressOf(courseId, enrolled);
      expect(mine.completedLessons).toBe(0);
      expect((await api.progressOf(otherCourseId, enrolled)).completedLessons).toBe(0);
    });
  });

  describe('completeLesson and uncompleteLesson', () => {
    it('answers 200 with the completion and the progress after it, and keeps the first completedAt', async () => {
      const { courseId, lessons } = await api.courseWithLessons(owner, 2);
      const student = await createUser(t());
      expect((await api.enroll(courseId, student)).status).toBe(201);

      const before = Date.now();
      const first = await api.complete(courseId, lessons[0]!, student);
      expect(first.status).toBe(200);
      expect(first.body).toEqual({
        lessonId: lessons[0],
        completedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/),
        progress: { completedLessons: 1, totalLessons: 2, percent: 50, completedAt: null },
      });
      const at = Date.parse(first.body.completedAt);
      expect(at).toBeGreaterThanOrEqual(before - 1000);
      expect(at).toBeLessThanOrEqual(Date.now() + 1000);

      await tick();
      const again = await api.complete(courseId, lessons[0]!, student);
      expect(again.status).toBe(200);
      expect(again.body).toEqual(first.body);
      const read = await api.progressOf(courseId, student);
      expect(read.lessons).toEqual([
        { lessonId: lessons[0], completedAt: first.body.completedAt },
        { lessonId: lessons[1], completedAt: null },
      ]);
    });

    it('records one completion for ten parallel calls, each answering the same completedAt', async () => {
      const { courseId, lessons } = await api.courseWithLessons(owner, 3);
      const student = await createUser(t());
      expect((await api.enroll(courseId, student)).status).toBe(201);

      const results = await Promise.all(
        Array.from({ length: 10 }, () => api.complete(courseId, lessons[1]!, student)),
      );
      expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
      const times = new Set(results.map((r) => r.body.completedAt as string));
      expect(times.size).toBe(1);
      for (const r of results) {
        expect(r.body.progress).toEqual({
          completedLessons: 1,
          totalLessons: 3,
          percent: 33,
          completedAt: null,
        });
      }
      const read = await api.progressOf(courseId, student);
      expect(progressOnly(read)).toEqual({
        completedLessons: 1,
        totalLessons: 3,
        percent: 33,
        completedAt: null,
      });
      expect(read.lessons[1]).toEqual({ lessonId: lessons[1], completedAt: [...times][0] });
      const { lessonCompletions: c } = t().database.t;
      const rows = await t()
        .database.db.select()
        .from(c)
        .where(and(eq(c.userId, student.id), eq(c.courseId, courseId)));
      expect(rows).toHaveLength(1);
    });

    it('uncompletes with 204, and 204 again when the lesson is not complete', async () => {
      const { courseId, lessons } = await api.courseWithLessons(owner, 2);
      const student = await createUser(t());
      expect((await api.enroll(courseId, student)).status).toBe(201);
      const first = await api.done(courseId, lessons[0]!, student);
      const second = await api.done(courseId, lessons[1]!, student);
      expect((await api.progressOf(courseId, student)).completedAt).toBe(second);

      const undo = await api.uncomplete(courseId, lessons[1]!, student);
      expect(undo.status).toBe(204);
      expect(undo.text).toBe('');
      expect(progressOnly(await api.progressOf(courseId, student))).toEqual({
        completedLessons: 1,
        totalLessons: 2,
        percent: 50,
        completedAt: null,
      });
      expect((await api.uncomplete(courseId, lessons[1]!, student)).status).toBe(204);
      expect((await api.progressOf(courseId, student)).completedLessons).toBe(1);

      // Completing it again is a new completion, later than the first one was.
      await tick();
      const redone = await api.done(courseId, lessons[1]!, student);
      expect(Date.parse(redone)).toBeGreaterThan(Date.parse(second));
      expect(progressOnly(await api.progressOf(courseId, student))).toEqual({
        completedLessons: 2,
        totalLessons: 2,
        percent: 100,
        completedAt: redone,
      });
      expect((await api.progressOf(courseId, student)).lessons[0]!.completedAt).toBe(first);
    });
  });

  describe('the rules of progress', () => {
    it('rounds down, and completes with the latest completion once every published lesson is', async () => {
      const { courseId, lessons } = await api.courseWithLessons(owner, 3);
      const student = await createUser(t());
      expect((await api.enroll(courseId, student)).status).toBe(201);
      expect(progressOnly(await api.progressOf(courseId, student))).toEqual({
        completedLessons: 0,
        totalLessons: 3,
        percent: 0,
        completedAt: null,
      });
      const one = await api.complete(courseId, lessons[2]!, student);
      expect(one.body.progress).toEqual({
        completedLessons: 1,
        totalLessons: 3,
        percent: 33,
        completedAt: null,
      });
      await tick();
      const two = await api.complete(courseId, lessons[0]!, student);
      expect(two.body.progress).toMatchObject({
        completedLessons: 2,
        percent: 66,
        completedAt: null,
      });
      await tick();
      const three = await api.complete(courseId, lessons[1]!, student);
      expect(three.body.progress).toEqual({
        completedLessons: 3,
        totalLessons: 3,
        percent: 100,
        completedAt: three.body.completedAt,
      });
      const read = await api.progressOf(courseId, student);
      expect(read).toEqual({
        courseId,
        completedLessons: 3,
        totalLessons: 3,
        percent: 100,
        completedAt: three.body.completedAt,
        lessons: [
          { lessonId: lessons[0], completedAt: two.body.completedAt },
          { lessonId: lessons[1], completedAt: three.body.completedAt },
          { lessonId: lessons[2], completedAt: one.body.completedAt },
        ],
      });
    });

    it('shows a course without published lessons as 0% and never complete', async () => {
      const empty = await api.course(owner);
      const withDraft = await api.course(owner);
      const section = await api.section(owner, withDraft);
      await api.lesson(owner, withDraft, section, { status: 'draft' });
      const student = await createUser(t());
      for (const courseId of [empty, withDraft]) {
        const enrolled = await api.enroll(courseId, student);
        expect(enrolled.status).toBe(201);
        const none = { completedLessons: 0, totalLessons: 0, percent: 0, completedAt: null };
        expect(enrolled.body.progress).toEqual(none);
        expect(await api.progressOf(courseId, student)).toEqual({ courseId, ...none, lessons: [] });
        expect((await api.myEnrollment(courseId, student))!.progress).toEqual(none);
        expect(await api.lessonCount(courseId, owner)).toBe(0);
      }
    });

    it("takes a newly published lesson into every student's progress at once", async () => {
      const { courseId, sectionId, lessons } = await api.courseWithLessons(owner, 2);
      const draft = await api.lesson(owner, courseId, sectionId, { status: 'draft' });
      const students = [await createUser(t()), await createUser(t())];
      const finished: string[] = [];
      for (const s of students) {
        expect((await api.enroll(courseId, s)).status).toBe(201);
        await api.done(courseId, lessons[0]!, s);
        await tick();
        finished.push(await api.done(courseId, lessons[1]!, s));
      }
      for (const [i, s] of students.entries()) {
        expect(progressOnly(await api.progressOf(courseId, s))).toEqual({
          completedLessons: 2,
          totalLessons: 2,
          percent: 100,
          completedAt: finished[i],
        });
      }

      // A new published lesson.
      const added = await api.lesson(owner, courseId, sectionId, { title: 'Bonus' });
      const twoOfThree = { completedLessons: 2, totalLessons: 3, percent: 66, completedAt: null };
      for (const s of students) {
        expect(progressOnly(await api.progressOf(courseId, s))).toEqual(twoOfThree);
        expect((await api.rosterEntry(courseId, owner, s))!.progress).toEqual(twoOfThree);
        expect((await api.myEnrollment(courseId, s))!.progress).toEqual(twoOfThree);
        expect((await api.summaryItem(courseId, s))!.progress).toEqual(twoOfThree);
      }
      expect(await api.lessonCount(courseId, owner)).toBe(3);

      // A draft published.
      await api.setStatus(owner, courseId, draft, 'published');
      const twoOfFour = { completedLessons: 2, totalLessons: 4, percent: 50, completedAt: null };
      for (const s of students) {
        const read = await api.progressOf(courseId, s);
        expect(progressOnly(read)).toEqual(twoOfFour);
        expect(read.lessons.map((l) => l.lessonId)).toEqual([lessons[0], lessons[1], draft, added]);
        expect((await api.rosterEntry(courseId, owner, s))!.progress).toEqual(twoOfFour);
      }
      expect(await api.lessonCount(courseId, owner)).toBe(4);
    });

    it('leaves an unpublished lesson out of the counts, and brings its completion back on republishing', async () => {
      const { courseId, lessons } = await api.courseWithLessons(owner, 3);
      const student = await createUser(t());
      expect((await api.enroll(courseId, student)).status).toBe(201);
      const at0 = await api.done(courseId, lessons[0]!, student);
      await tick();
      const at2 = await api.done(courseId, lessons[2]!, student);
      await tick();
      const at1 = await api.done(courseId, lessons[1]!, student);
      expect((await api.progressOf(courseId, student)).completedAt).toBe(at1);

      // The latest completion's lesson is unpublished: the course is still complete, as of the
      // latest completion among the published lessons.
      await api.setStatus(owner, courseId, lessons[1]!, 'draft');
      const without = { completedLessons: 2, totalLessons: 2, percent: 100, completedAt: at2 };
      const read = await api.progressOf(courseId, student);
      expect(read).toEqual({
        courseId,
        ...without,
        lessons: [
          { lessonId: lessons[0], completedAt: at0 },
          { lessonId: lessons[2], completedAt: at2 },
        ],
      });
      expect((await api.myEnrollment(courseId, student))!.progress).toEqual(without);
      expect((await api.summaryItem(courseId, student))!.progress).toEqual(without);
      expect((await api.rosterEntry(courseId, owner, student))!.progress).toEqual(without);
      expect(await api.lessonCount(courseId, owner)).toBe(2);

      // An unpublished lesson cannot be completed or uncompleted meanwhile.
      expect((await api.uncomplete(courseId, lessons[1]!, student)).status).toBe(404);

      await api.setStatus(owner, courseId, lessons[1]!, 'published');
      const back = { completedLessons: 3, totalLessons: 3, percent: 100, completedAt: at1 };
      expect(progressOnly(await api.progressOf(courseId, student))).toEqual(back);
      expect((await api.progressOf(courseId, student)).lessons[1]).toEqual({
        lessonId: lessons[1],
        completedAt: at1,
      });
      expect((await api.rosterEntry(courseId, owner, student))!.progress).toEqual(back);
    });

    it('drops a deleted lesson from every count, keeping its completion rows in the database', async () => {
      const { courseId, lessons } = await api.courseWithLessons(owner, 3);
      const [all, only] = [await createUser(t()), await createUser(t())];
      for (const s of [all, only]) expect((await api.enroll(courseId, s)).status).toBe(201);
      const at0 = await api.done(courseId, lessons[0]!, all);
      await tick();
      const at1 = await api.done(courseId, lessons[1]!, all);
      await tick();
      await api.done(courseId, lessons[2]!, all);
      await api.done(courseId, lessons[2]!, only);

      await api.deleteLesson(owner, courseId, lessons[2]!);
      const allNow = { completedLessons: 2, totalLessons: 2, percent: 100, completedAt: at1 };
      const onlyNow = { completedLessons: 0, totalLessons: 2, percent: 0, completedAt: null };
      expect(await api.progressOf(courseId, all)).toEqual({
        courseId,
        ...allNow,
        lessons: [
          { lessonId: lessons[0], completedAt: at0 },
          { lessonId: lessons[1], completedAt: at1 },
        ],
      });
      expect(progressOnly(await api.progressOf(courseId, only))).toEqual(onlyNow);
      for (const [s, p] of [
        [all, allNow],
        [only, onlyNow],
      ] as const) {
        expect((await api.rosterEntry(courseId, owner, s))!.progress).toEqual(p);
        expect((await api.myEnrollment(courseId, s))!.progress).toEqual(p);
        expect((await api.summaryItem(courseId, s))!.progress).toEqual(p);
      }
      expect(await api.lessonCount(courseId, owner)).toBe(2);
      expect((await api.complete(courseId, lessons[2]!, only)).status).toBe(404);

      const { lessonCompletions: c } = t().database.t;
      const kept = await t()
        .database.db.select()
        .from(c)
        .where(and(eq(c.courseId, courseId), eq(c.lessonId, lessons[2]!)));
      expect(kept.map((row) => row.userId).sort()).toEqual([all.id, only.id].sort());

      // A new lesson published after the deletion counts; the deleted one still does not.
      const section = (await t().request().get(`${COURSES}/${courseId}/outline`)).body.sections[0]
        .id as string;
      await api.lesson(owner, courseId, section, { title: 'Replacement' });
      expect(progressOnly(await api.progressOf(courseId, only))).toEqual({
        completedLessons: 0,
        totalLessons: 3,
        percent: 0,
        completedAt: null,
      });
    });

    it('drops a deleted lesson that has lessons after it, keeping the others in order', async () => {
      const { courseId, lessons } = await api.courseWithLessons(owner, 3);
      const student = await createUser(t());
      expect((await api.enroll(courseId, student)).status).toBe(201);
      const at0 = await api.done(courseId, lessons[0]!, student);
      await tick();
      const at2 = await api.done(courseId, lessons[2]!, student);

      // The first lesson of its section: the two after it move up one place.
      await api.deleteLesson(owner, courseId, lessons[0]!);
      expect(await api.progressOf(courseId, student)).toEqual({
        courseId,
        completedLessons: 1,
        totalLessons: 2,
        percent: 50,
        completedAt: null,
        lessons: [
          { lessonId: lessons[1], completedAt: null },
          { lessonId: lessons[2], completedAt: at2 },
        ],
      });
      expect((await api.rosterEntry(courseId, owner, student))!.progress).toMatchObject({
        completedLessons: 1,
        totalLessons: 2,
      });
      const { lessonCompletions: c } = t().database.t;
      const kept = await t()
        .database.db.select()
        .from(c)
        .where(and(eq(c.userId, student.id), eq(c.lessonId, lessons[0]!)));
      expect(kept.map((row) => row.completedAt.toISOString())).toEqual([at0]);
    });

    it('lists every published lesson in outline order, sections first, then lessons', async () => {
      const courseId = await api.course(owner);
      const first = await api.section(owner, courseId, 'First');
      const second = await api.section(owner, courseId, 'Second');
      // Created out of outline order, with drafts in between.
      const b1 = await api.lesson(owner, courseId, second, { title: 'b1' });
      const a1 = await api.lesson(owner, courseId, first, { title: 'a1' });
      const aDraft = await api.lesson(owner, courseId, first, {
        title: 'a draft',
        status: 'draft',
      });
      const a2 = await api.lesson(owner, courseId, first, { title: 'a2' });
      const b2 = await api.lesson(owner, courseId, second, { title: 'b2' });
      const student = await createUser(t());
      expect((await api.enroll(courseId, student)).status).toBe(201);
      const atB1 = await api.done(courseId, b1, student);

      let read = await api.progressOf(courseId, student);
      expect(read.lessons).toEqual([
        { lessonId: a1, completedAt: null },
        { lessonId: a2, completedAt: null },
        { lessonId: b1, completedAt: atB1 },
        { lessonId: b2, completedAt: null },
      ]);

      // Reordered: the second section first, b2 before b1, and a2 moved into it.
      const reorder = await t()
        .request()
        .put(`${COURSES}/${courseId}/outline`)
        .set(bearer(owner))
        .send({
          sections: [
            { id: second, lessonIds: [b2, a2, b1] },
            { id: first, lessonIds: [aDraft, a1] },
          ],
        });
      expect(reorder.status).toBe(200);
      read = await api.progressOf(courseId, student);
      expect(read.lessons).toEqual([
        { lessonId: b2, completedAt: null },
        { lessonId: a2, completedAt: null },
        { lessonId: b1, completedAt: atB1 },
        { lessonId: a1, completedAt: null },
      ]);
      expect(progressOnly(read)).toEqual({
        completedLessons: 1,
        totalLessons: 4,
        percent: 25,
        completedAt: null,
      });
    });
  });

  describe('progress on every enrollment the API returns', () => {
    it('agrees with getCourseProgress in enrollInCourse, my enrollments, /users/me and the roster', async () => {
      const { courseId, sectionId, lessons } = await api.courseWithLessons(owner, 3);
      await api.lesson(owner, courseId, sectionId, { title: 'Draft', status: 'draft' });
      const student = await createUser(t());
      const classmate = await createUser(t());

      const created = await api.enroll(courseId, student);
      expect(created.status).toBe(201);
      expect(created.body.progress).toEqual({
        completedLessons: 0,
        totalLessons: 3,
        percent: 0,
        completedAt: null,
      });
      expect((await api.enroll(courseId, classmate)).status).toBe(201);
      await api.done(courseId, lessons[0]!, student);
      await tick();
      await api.done(courseId, lessons[2]!, student);
      await api.done(courseId, lessons[1]!, classmate);

      const twoOfThree = { completedLessons: 2, totalLessons: 3, percent: 66, completedAt: null };
      const oneOfThree = { completedLessons: 1, totalLessons: 3, percent: 33, completedAt: null };
      expect(progressOnly(await api.progressOf(courseId, student))).toEqual(twoOfThree);
      expect(progressOnly(await api.progressOf(courseId, classmate))).toEqual(oneOfThree);

      const again = await api.enroll(courseId, student);
      expect(again.status).toBe(200);
      expect(again.body.progress).toEqual(twoOfThree);
      expect((await api.myEnrollment(courseId, student))!.progress).toEqual(twoOfThree);
      expect((await api.summaryItem(courseId, student))!.progress).toEqual(twoOfThree);
      // Each roster entry carries that student's own progress, to the owner and to an admin.
      for (const manager of [owner, admin]) {
        expect((await api.rosterEntry(courseId, manager, student))!.progress).toEqual(twoOfThree);
        expect((await api.rosterEntry(courseId, manager, classmate))!.progress).toEqual(oneOfThree);
      }
      expect(await api.lessonCount(courseId, student)).toBe(twoOfThree.totalLessons);

      // Finished: every view shows the same completedAt.
      await tick();
      const last = await api.done(courseId, lessons[1]!, student);
      const full = { completedLessons: 3, totalLessons: 3, percent: 100, completedAt: last };
      expect(progressOnly(await api.progressOf(courseId, student))).toEqual(full);
      expect((await api.enroll(courseId, student)).body.progress).toEqual(full);
      expect((await api.myEnrollment(courseId, student))!.progress).toEqual(full);
      expect((await api.summaryItem(courseId, student))!.progress).toEqual(full);
      expect((await api.rosterEntry(courseId, owner, student))!.progress).toEqual(full);

      // Cancelled: the progress stays readable everywhere the enrollment still appears.
      expect((await api.leave(courseId, student)).status).toBe(204);
      expect(progressOnly(await api.progressOf(courseId, student))).toEqual(full);
      expect(await api.myEnrollment(courseId, student)).toMatchObject({
        status: 'cancelled',
        progress: full,
      });
      expect(await api.rosterEntry(courseId, owner, student)).toMatchObject({
        status: 'cancelled',
        progress: full,
      });
      expect(await api.summaryItem(courseId, student)).toBeUndefined();

      // While away, a lesson is added; coming back keeps the earlier completions.
      await api.lesson(owner, courseId, sectionId, { title: 'While you were away' });
      const back = await api.enroll(courseId, student);
      expect(back.status).toBe(201);
      const threeOfFour = { completedLessons: 3, totalLessons: 4, percent: 75, completedAt: null };
      expect(back.body.progress).toEqual(threeOfFour);
      expect(progressOnly(await api.progressOf(courseId, student))).toEqual(threeOfFour);
      expect((await api.myEnrollment(courseId, student))!.progress).toEqual(threeOfFour);
      expect((await api.summaryItem(courseId, student))!.progress).toEqual(threeOfFour);
      expect((await api.rosterEntry(courseId, owner, student))!.progress).toEqual(threeOfFour);
      expect(await api.lessonCount(courseId, owner)).toBe(4);
    });
  });

  describe('the course player, from outline to 100%', () => {
    it('takes an outline from drafts to a finished student, as every party sees it', async () => {
      const req = () => t().request();
      const instructor = await createUser(t(), { role: 'instructor', name: 'Barbara Liskov' });
      const student = await createUser(t(), { name: 'Alan Turing' });

      // The instructor writes an outline of drafts in a draft course.
      const courseId = await api.course(instructor, { title: 'Abstraction', status: 'draft' });
      const basics = await api.section(instructor, courseId, 'Basics');
      const beyond = await api.section(instructor, courseId, 'Beyond');
      const create = async (sectionId: string, body: Record<string, unknown>) => {
        const res = await req()
          .post(`${COURSES}/${courseId}/sections/${sectionId}/lessons`)
          .set(bearer(instructor))
          .send(body);
        expect(res.status).toBe(201);
        expect(res.body.status).toBe('draft');
        expect(res.headers.location).toBe(`${COURSES}/${courseId}/lessons/${res.body.id}`);
        return { id: res.body.id as string, etag: res.headers.etag as string };
      };
      const welcome = await create(basics, {
        title: 'Welcome',
        kind: 'text',
        body: '# Welcome\n\nWhat this course is about.',
        durationMinutes: 5,
        preview: true,
      });
      const setup = await create(basics, {
        title: 'Setting up',
        kind: 'video',
        url: 'https://videos.example.com/setup.mp4',
        durationMinutes: 12,
      });
      const reading = await create(beyond, {
        title: 'Further reading',
        kind: 'link',
        url: 'https://example.com/reading',
      });
      const notes = await create(beyond, { title: 'Notes in progress', kind: 'text' });

      // Nobody else sees a draft course.
      expect((await req().get(`${COURSES}/${courseId}/outline`)).status).toBe(404);

      // Publishing the lessons (with If-Match) and the course.
      for (const lesson of [welcome, setup, reading]) {
        const res = await req()
          .patch(`${COURSES}/${courseId}/lessons/${lesson.id}`)
          .set(bearer(instructor))
          .set('If-Match', lesson.etag)
          .send({ status: 'published' });
        expect(res.status).toBe(200);
      }
      const published = await req().put(`${COURSES}/${courseId}`).set(bearer(instructor)).send({
        title: 'Abstraction',
        description: 'Data abstraction, from the ground up.',
        category: null,
        level: null,
        language: 'en',
        status: 'published',
        capacity: null,
      });
      expect(published.status).toBe(200);
      expect(published.body).toMatchObject({ lessonCount: 3, totalDurationMinutes: 17 });

      // Reordering: "Beyond" first, "Setting up" moved into it, first.
      const mine = await req().get(`${COURSES}/${courseId}/outline`).set(bearer(instructor));
      expect(mine.status).toBe(200);
      const reordered = await req()
        .put(`${COURSES}/${courseId}/outline`)
        .set(bearer(instructor))
        .set('If-Match', mine.headers.etag as string)
        .send({
          sections: [
            { id: beyond, lessonIds: [setup.id, reading.id, notes.id] },
            { id: basics, lessonIds: [welcome.id] },
          ],
        });
      expect(reordered.status).toBe(200);
      expect(
        reordered.body.sections.map((s: { id: string; lessons: { id: string }[] }) => [
          s.id,
          s.lessons.map((l) => l.id),
        ]),
      ).toEqual([
        [beyond, [setup.id, reading.id, notes.id]],
        [basics, [welcome.id]],
      ]);

      // An anonymous visitor: the outline without drafts or content, nothing completed.
      const visitor = await req().get(`${COURSES}/${courseId}/outline`);
      expect(visitor.status).toBe(200);
      const seen = visitor.body.sections as {
        id: string;
        title: string;
        position: number;
        lessons: Record<string, unknown>[];
      }[];
      expect(seen.map((s) => [s.title, s.position, s.lessons.map((l) => l.title)])).toEqual([
        ['Beyond', 0, ['Setting up', 'Further reading']],
        ['Basics', 1, ['Welcome']],
      ]);
      for (const lesson of seen.flatMap((s) => s.lessons)) {
        expect(lesson).toMatchObject({ status: 'published', completedAt: null });
        expect(lesson).not.toHaveProperty('body');
        expect(lesson).not.toHaveProperty('url');
      }
      const preview = await req().get(`${COURSES}/${courseId}/lessons/${welcome.id}`);
      expect(preview.status).toBe(200);
      expect(preview.body).toMatchObject({
        id: welcome.id,
        title: 'Welcome',
        body: '# Welcome\n\nWhat this course is about.',
        preview: true,
      });
      const locked = await req().get(`${COURSES}/${courseId}/lessons/${setup.id}`);
      expect(locked.status).toBe(403);
      expect(locked.body.type).toBe(`${PROBLEM}enrollment-required`);

      // The student enrolls, reads and completes every lesson, in outline order.
      const enrolled = await api.enroll(courseId, student);
      expect(enrolled.status).toBe(201);
      expect(enrolled.body.progress).toEqual({
        completedLessons: 0,
        totalLessons: 3,
        percent: 0,
        completedAt: null,
      });
      const order = [setup, reading, welcome];
      const percents: number[] = [];
      const completions: Record<string, string> = {};
      for (const lesson of order) {
        const read = await req()
          .get(`${COURSES}/${courseId}/lessons/${lesson.id}`)
          .set(bearer(student));
        expect(read.status).toBe(200);
        expect(read.body.id).toBe(lesson.id);
        await tick();
        completions[lesson.id] = await api.done(courseId, lesson.id, student);
        const me = await api.summaryItem(courseId, student);
        percents.push(me!.progress.percent);
      }
      expect(percents).toEqual([33, 66, 100]);
      const finishedAt = completions[welcome.id]!;
      const full = { completedLessons: 3, totalLessons: 3, percent: 100, completedAt: finishedAt };
      expect((await api.summaryItem(courseId, student))!.progress).toEqual(full);
      expect(
        (await req().get(`${COURSES}/${courseId}/lessons/${notes.id}`).set(bearer(student))).status,
      ).toBe(404);

      // The student's outline shows its own completions; the visitor's still shows none.
      const theirs = await req().get(`${COURSES}/${courseId}/outline`).set(bearer(student));
      const completedIn = (body: {
        sections: { lessons: { id: string; completedAt: string | null }[] }[];
      }) => body.sections.flatMap((s) => s.lessons.map((l) => [l.id, l.completedAt]));
      expect(completedIn(theirs.body)).toEqual(order.map((l) => [l.id, completions[l.id]]));
      const anonymousAgain = await req().get(`${COURSES}/${courseId}/outline`);
      expect(completedIn(anonymousAgain.body)).toEqual(order.map((l) => [l.id, null]));

      // The owner sees the student at 100% in the roster.
      const roster = await req().get(`${COURSES}/${courseId}/enrollments`).set(bearer(instructor));
      expect(roster.status).toBe(200);
      expect(roster.body.items).toEqual([
        {
          user: { id: student.id, name: 'Alan Turing', email: student.email },
          status: 'active',
          enrolledAt: enrolled.body.enrolledAt,
          cancelledAt: null,
          progress: full,
        },
      ]);
    });
  });
});

// Completions from two instances over one PostgreSQL: the database, not an instance, decides.
describePg('completeLesson across two instances on one PostgreSQL', () => {
  let ctx: Awaited<ReturnType<typeof buildInstances>>;
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    ctx = await buildInstances(2);
    [a, b] = ctx.instances as [TestApp, TestApp];
  });
  afterAll(() => ctx.close());

  it('ten parallel completions of one lesson, split over both, record one with one completedAt', async () => {
    const onA = client(() => a);
    const onB = client(() => b);
    const owner = await createUser(a, { role: 'instructor' });
    const student = await createUser(a);
    const { courseId, lessons } = await onA.courseWithLessons(owner, 2);
    expect((await onB.enroll(courseId, student)).status).toBe(201);

    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 === 0 ? onA : onB).complete(courseId, lessons[0]!, student),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(new Set(results.map((r) => r.body.completedAt as string)).size).toBe(1);
    for (const r of results) {
      expect(r.body.progress).toEqual({
        completedLessons: 1,
        totalLessons: 2,
        percent: 50,
        completedAt: null,
      });
    }
    for (const on of [onA, onB]) {
      expect((await on.progressOf(courseId, student)).completedLessons).toBe(1);
    }

    // An uncompletion on one instance is seen on the other at once.
    expect((await onA.uncomplete(courseId, lessons[0]!, student)).status).toBe(204);
    expect((await onB.progressOf(courseId, student)).completedLessons).toBe(0);
  });
});
