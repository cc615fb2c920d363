// What a partner writes against an SDK generated from our published document. It only has to
// type-check: a contract that generates a wrong or unusable client fails here.
import { createClient } from './client/client';
import {
  completeLesson,
  createCourse,
  createLesson,
  createSection,
  deleteLesson,
  deleteSection,
  enrollInCourse,
  getCourseOutline,
  getCourseProgress,
  getCurrentUser,
  getLesson,
  listCourseEnrollments,
  listCourses,
  loginUser,
  registerUser,
  replaceCourseOutline,
  uncompleteLesson,
  updateCourse,
  updateLesson,
} from './client/sdk.gen';
import type {
  Course,
  CourseOutline,
  CourseProgress,
  Lesson,
  LessonCompletion,
  Problem,
  Progress,
  Section,
  TokenPair,
} from './client/types.gen';

const client = createClient({ baseUrl: 'https://api.example.com' });

export async function partnerFlow(): Promise<void> {
  await registerUser({
    client,
    body: { email: 'ada@example.com', password: 'correct-horse-battery', name: 'Ada' },
  });
  const login = await loginUser({
    client,
    body: { email: 'ada@example.com', password: 'correct-horse-battery' },
  });
  if (login.error) {
    const problem: Problem = login.error;
    throw new Error(`${problem.status} ${problem.title}`);
  }
  const tokens: TokenPair = login.data;
  const auth = { auth: tokens.accessToken };

  const me = await getCurrentUser({ client, ...auth });
  const firstCourseTitle: string | undefined = me.data?.enrollments.items[0]?.course.title;
  const firstCoursePercent: number | undefined = me.data?.enrollments.items[0]?.progress.percent;
  void firstCourseTitle;
  void firstCoursePercent;

  const created = await createCourse({
    client,
    ...auth,
    body: { title: 'Intro to SQL', level: 'beginner', capacity: 30, status: 'draft' },
  });
  const course: Course | undefined = created.data;
  if (!course) return;

  await updateCourse({
    client,
    ...auth,
    path: { courseId: course.id },
    headers: { 'If-Match': '"etag"' },
    body: {
      title: course.title,
      description: course.description,
      category: course.category,
      level: course.level,
      language: course.language,
      status: 'published',
      capacity: course.capacity,
    },
  });

  const page = await listCourses({ client, query: { q: 'sql', sort: 'title', limit: 10 } });
  const next: string | null | undefined = page.data?.nextCursor;
  void next;

  const enrollment = await enrollInCourse({ client, ...auth, path: { courseId: course.id } });
  const status: 'active' | 'cancelled' | undefined = enrollment.data?.status;
  const progress: Progress | undefined = enrollment.data?.progress;
  const finishedAt: string | null | undefined = progress?.completedAt;
  void status;
  void finishedAt;

  const roster = await listCourseEnrollments({
    client,
    ...auth,
    path: { courseId: course.id },
    query: { status: 'active', limit: 20 },
  });
  const percents: number[] | undefined = roster.data?.items.map((item) => item.progress.percent);
  void percents;

  await courseContent(auth, course);
}

/** An instructor builds a course's outline; a student works through it. */
async function courseContent(auth: { auth: string }, course: Course): Promise<void> {
  const courseId = course.id;
  const lessonCount: number = course.lessonCount;
  const minutes: number = course.totalDurationMinutes;
  void lessonCount;
  void minutes;

  const createdSection = await createSection({
    client,
    ...auth,
    path: { courseId },
    body: { title: 'Getting started' },
  });
  const section: Section | undefined = createdSection.data;
  if (!section) return;

  const createdVideo = await createLesson({
    client,
    ...auth,
    path: { courseId, sectionId: section.id },
    body: {
      title: 'What is SQL?',
      kind: 'video',
      url: 'https://videos.example.com/sql/what-is-sql.mp4',
      durationMinutes: 12,
      preview: true,
      status: 'published',
    },
  });
  const createdText = await createLesson({
    client,
    ...auth,
    path: { courseId, sectionId: section.id },
    body: { title: 'SELECT', summary: null, kind: 'text', body: '# SELECT\n\nReads rows.' },
  });
  const video: Lesson | undefined = createdVideo.data;
  const text: Lesson | undefined = createdText.data;
  if (!video || !text) return;

  const reordered = await replaceCourseOutline({
    client,
    ...auth,
    path: { courseId },
    headers: { 'If-Match': '"outline-etag"' },
    body: { sections: [{ id: section.id, lessonIds: [text.id, video.id] }] },
  });
  if (reordered.error) {
    const problem: Problem = reordered.error;
    throw new Error(`${problem.status} ${problem.type}`);
  }

  // Token optional: anyone who can see the course reads its outline.
  const read = await getCourseOutline({ client, path: { courseId } });
  const outline: CourseOutline | undefined = read.data;
  const firstLesson = outline?.sections[0]?.lessons[0];
  const completedAt: string | null | undefined = firstLesson?.completedAt;
  const kind: 'text' | 'video' | 'link' | undefined = firstLesson?.kind;
  void completedAt;
  void kind;

  const preview = await getLesson({ client, path: { courseId, lessonId: video.id } });
  const url: string | null | undefined = preview.data?.url;
  void url;

  await updateLesson({
    client,
    ...auth,
    path: { courseId, lessonId: text.id },
    headers: { 'If-Match': '"lesson-etag"' },
    body: { status: 'published', durationMinutes: 8, preview: false },
  });

  const done = await completeLesson({ client, ...auth, path: { courseId, lessonId: text.id } });
  if (done.error) {
    const problem: Problem = done.error;
    throw new Error(`${problem.status} ${problem.type}`);
  }
  const completion: LessonCompletion = done.data;
  const percent: number = completion.progress.percent;
  void percent;

  const mine = await getCourseProgress({ client, ...auth, path: { courseId } });
  const courseProgress: CourseProgress | undefined = mine.data;
  const open: string[] | undefined = courseProgress?.lessons
    .filter((lesson) => lesson.completedAt === null)
    .map((lesson) => lesson.lessonId);
  void open;

  await uncompleteLesson({ client, ...auth, path: { courseId, lessonId: text.id } });
  await deleteLesson({ client, ...auth, path: { courseId, lessonId: text.id } });
  await deleteLesson({ client, ...auth, path: { courseId, lessonId: video.id } });
  await deleteSection({ client, ...auth, path: { courseId, sectionId: section.id } });
}
