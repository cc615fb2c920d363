import type { RequestHandler } from 'express';
import { HTTP_METHODS, type OpenApiDocument } from '../contract';
import { matchedOperationKey, operationKey } from './matched-operation';

/**
 * `Cache-Control: no-store` on every answer of the operations whose successful answers declare it
 * in the document: those that carry tokens, secrets or an account's own data (RFC 6749 §5.1).
 * Mounted after the validator, which has matched the operation, and before replays and handlers.
 */
export function noStoreAsDocumented(document: OpenApiDocument): RequestHandler {
  const noStore = new Set<string>();
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of HTTP_METHODS) {
      const answers = Object.entries(item[method]?.responses ?? {});
      if (
        answers.some(
          ([status, answer]) => status.startsWith('2') && answer.headers?.['Cache-Control'],
        )
      ) {
        noStore.add(operationKey(method, path));
      }
    }
  }
  return (req, res, next) => {
    const key = matchedOperationKey(req);
    if (key && noStore.has(key)) res.setHeader('Cache-Control', 'no-store');
    next();
  };
}
