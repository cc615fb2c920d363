import type { Request } from 'express';
import { HttpProblem, problems } from '../errors';
import { toProblem } from './problems';
import type { Caller } from '../services/auth';
import type { Services } from '../services';

const callers = new WeakMap<Request, Caller>();
const rejected = new WeakMap<Request, HttpProblem>();

const BEARER = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i;

/**
 * The document's `bearerAuth` scheme. The roles listed in an operation's security requirement
 * are the roles allowed to call it; this is the one place they are enforced.
 */
export function bearerAuthHandler(services: Services) {
  return async (req: Request, roles: string[]): Promise<true> => {
    const match = BEARER.exec(req.get('authorization') ?? '');
    if (!match?.[1])
      throw problems.unauthorized('The Authorization header must be "Bearer <token>".');
    let caller: Caller;
    try {
      caller = await services.auth.authenticate(match[1]);
    } catch (err) {
      // The validator keeps only `status` and `message` of what is thrown here; a database that
      // is down must stay a 503 rather than pass for a bad token.
      const problem = toProblem(err);
      if (problem.status === 401) rejected.set(req, problem);
      throw problem;
    }
    callers.set(req, caller);
    if (roles.length > 0 && !roles.includes(caller.role)) throw problems.forbidden();
    return true;
  };
}

export function callerOf(req: Request): Caller | undefined {
  return callers.get(req);
}

/** Why a token sent to an operation where it is optional was refused (see routes.ts). */
export function rejectedTokenOf(req: Request): HttpProblem | undefined {
  return rejected.get(req);
}
