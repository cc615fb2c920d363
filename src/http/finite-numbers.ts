import type { RequestHandler } from 'express';
import { problems } from '../errors';

/**
 * The validator coerces query strings to numbers, and ajv reads `Infinity` and `-Infinity` as
 * numbers that then pass `type: integer` and skip `minimum`/`maximum`. A number in a query is
 * refused here unless it is finite, so no handler ever sees one that is not.
 */
export const rejectNonFiniteQueryNumbers: RequestHandler = (req, _res, next) => {
  const errors = Object.entries(req.query as Record<string, unknown>)
    .filter(([, value]) => typeof value === 'number' && !Number.isFinite(value))
    .map(([name]) => ({ path: `query.${name}`, message: 'must be a finite number' }));
  if (errors.length > 0)
    return next(problems.badRequest('Some fields are not valid; see errors.', errors));
  next();
};
