import type { components } from './generated/openapi';

// The domain's vocabulary, below services, data modules and errors alike. The names come from the
// contract, so the two never drift apart.
type Schemas = components['schemas'];
export type Role = Schemas['Role'];
export type UserStatus = Schemas['UserStatus'];
export type CourseStatus = Schemas['CourseStatus'];
export type CourseLevel = NonNullable<Schemas['CourseLevel']>;
export type EnrollmentStatus = Schemas['EnrollmentStatus'];
export type LessonKind = Schemas['LessonKind'];
export type LessonStatus = Schemas['LessonStatus'];

/** Where a client stands against one limit: what the RateLimit-* headers say. */
export interface LimitState {
  limit: number;
  remaining: number;
  resetSeconds: number;
}
