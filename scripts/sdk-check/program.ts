// What a partner writes against an SDK generated from our published document. It only has to
// type-check: a contract that generates a wrong or unusable client fails here.
import { createClient } from './client/client';
import {
  createCourse,
  enrollInCourse,
  getCurrentUser,
  listCourses,
  loginUser,
  registerUser,
  updateCourse,
} from './client/sdk.gen';
import type { Course, Problem, TokenPair } from './client/types.gen';

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
  void firstCourseTitle;

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
  void status;
}
