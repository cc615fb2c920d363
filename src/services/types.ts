import type { components } from '../generated/openapi';

// Domain vocabulary, taken from the contract so the two never drift apart.
type Schemas = components['schemas'];
export type Role = Schemas['Role'];
export type UserStatus = Schemas['UserStatus'];
export type CourseStatus = Schemas['CourseStatus'];
export type CourseLevel = NonNullable<Schemas['CourseLevel']>;
export type EnrollmentStatus = Schemas['EnrollmentStatus'];
