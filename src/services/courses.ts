import type { Database, Db } from '../data/database';

// Filled in by the courses and enrollments issue; the identity issue calls these as they are.
export function createCourseService(_database: Database) {
  return {
    /** Whether the user still owns courses that are not deleted (they block deleting the user). */
    async ownsLiveCourses(_tx: Db, _userId: string): Promise<boolean> {
      return false;
    },
  };
}

export type CourseService = ReturnType<typeof createCourseService>;
