// SPDX-License-Identifier: Apache-2.0
/** HTTP error bodies: `{ "error": { "code", "message", "problems"? } }` with a stable code. */

export interface HttpProblem {
  field: string;
  message: string;
}

export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly problems?: HttpProblem[];
  constructor(status: number, code: string, message: string, problems?: HttpProblem[]) {
    super(message);
    this.status = status;
    this.code = code;
    this.problems = problems;
  }
}

export function errorBody(code: string, message: string, problems?: HttpProblem[]) {
  return { error: { code, message, ...(problems ? { problems } : {}) } };
}
