import { hash } from 'node:crypto';
import { HttpProblem } from '../errors';

/**
 * The version of a representation as the API shows it: it changes whenever the representation
 * does, so it serves as the strong ETag (quoted) that If-Match is checked against.
 */
export function versionOf(representation: unknown): string {
  return hash('sha1', JSON.stringify(representation), 'base64url');
}

/** The ETag header value of a representation. */
export const etagOf = (representation: unknown) => `"${versionOf(representation)}"`;

/**
 * Refuses a write whose `If-Match` names no current version: RFC 9110's strong comparison over a
 * list of entity tags (a weak tag never matches); `*` matches any current version.
 */
export function requireIfMatch(ifMatch: string | undefined, current: unknown, what: string): void {
  if (ifMatch === undefined) return;
  const tags = ifMatch.split(',').map((tag) => tag.trim());
  if (tags.includes('*') || tags.includes(etagOf(current))) return;
  throw new HttpProblem(
    412,
    'precondition-failed',
    `The ${what} has changed since the version in If-Match; read it again.`,
  );
}
