import type { Request, RequestHandler, Response } from 'express';
import type { IdentityVerifier } from '../auth/identity.ts';
import { authorizeAdmin, type AdminAction, type Principal } from '../auth/policy.ts';
import { AppError } from '../errors.ts';

/** Requires `Authorization: Bearer <identity token>`; the verified principal goes to res.locals. */
export function authenticate(verifier: IdentityVerifier): RequestHandler {
  return async (req, res, next) => {
    if (res.locals['principal']) return next(); // verified already, before the body was read
    const header = req.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match?.[1]) throw new AppError('AUTH_REQUIRED');
    res.locals['principal'] = await verifier.verify(match[1]);
    next();
  };
}

export function principalOf(res: Response): Principal {
  const p = res.locals['principal'] as Principal | undefined;
  if (!p) throw new AppError('AUTH_REQUIRED');
  return p;
}

/** The caller, if the policy lets them perform this administrative action. */
export function requireAdmin(res: Response, action: AdminAction): Principal {
  const principal = principalOf(res);
  const decision = authorizeAdmin(principal, action);
  if (!decision.allow) throw new AppError(decision.code);
  return principal;
}

/** Authorization as a middleware, so it runs before any body is read. */
export function authorize(action: AdminAction): RequestHandler {
  return (_req, res, next) => {
    requireAdmin(res, action);
    next();
  };
}

export type { Request };
