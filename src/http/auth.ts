// SPDX-License-Identifier: Apache-2.0
/** Bearer-token checks in constant time (both sides hashed first, so lengths leak nothing). */
import { createHash, timingSafeEqual } from 'node:crypto';
import { HttpError } from './errors.ts';

const digest = (s: string) => createHash('sha256').update(s).digest();

export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

export function checkBearer(header: string | undefined, expected: string | undefined): void {
  if (!expected) throw new HttpError(401, 'UNAUTHORIZED', 'alert ingest is disabled: no ingest token is configured (RIPOSTE_INGEST_TOKEN or RIPOSTE_INGEST_TOKEN_FILE)');
  if (!header) throw new HttpError(401, 'UNAUTHORIZED', 'missing Authorization: Bearer <token> header');
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) throw new HttpError(401, 'UNAUTHORIZED', 'Authorization header must be "Bearer <token>"');
  if (!safeEqual(m[1]!, expected)) throw new HttpError(401, 'UNAUTHORIZED', 'invalid token');
}
