import type { RequestHandler } from 'express';
import { problems, type FieldError } from '../errors';

/** Paths of every string under `value` holding a NUL, which PostgreSQL cannot store in text. */
function nulPaths(value: unknown, path: string, found: FieldError[]): FieldError[] {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) found.push({ path, message: 'must not contain NUL characters' });
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) nulPaths(item, `${path}.${key}`, found);
  }
  return found;
}

/**
 * A NUL in a body or query string is refused on both databases alike, with the field named,
 * rather than stored by SQLite and refused by PostgreSQL.
 */
export const rejectNulCharacters: RequestHandler = (req, _res, next) => {
  const found = nulPaths(req.query, 'query', nulPaths(req.body, 'body', []));
  if (found.length > 0)
    return next(problems.badRequest('Some fields are not valid; see errors.', found));
  next();
};
