// SPDX-License-Identifier: Apache-2.0
/**
 * One error catalogue with stable codes. Every error that reaches a user says
 * where it happened (file:line:col, JSON path or HTTP field) and what to do.
 */

export const ErrorCodes = {
  CONFIG_INVALID: 'RIPOSTE_CONFIG_INVALID',
  PLAYBOOK_INVALID: 'RIPOSTE_PLAYBOOK_INVALID',
  RULES_INVALID: 'RIPOSTE_RULES_INVALID',
  ALERT_INVALID: 'RIPOSTE_ALERT_INVALID',
  UNAUTHORIZED: 'RIPOSTE_UNAUTHORIZED',
  REDIS_UNAVAILABLE: 'RIPOSTE_REDIS_UNAVAILABLE',
  TEMPLATE_ERROR: 'RIPOSTE_TEMPLATE_ERROR',
  ACTION_FAILED: 'RIPOSTE_ACTION_FAILED',
  ACTION_REFUSED: 'RIPOSTE_ACTION_REFUSED',
  NOT_FOUND: 'RIPOSTE_NOT_FOUND',
} as const;
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** A position in a source file; line and col are 1-based. */
export interface SourcePos {
  file: string;
  line: number;
  col: number;
}

/** One problem found in a source file, e.g. `riposte.yaml:3:9 server.port: expected integer`. */
export interface Diagnostic {
  file: string;
  line: number;
  col: number;
  /** Dotted path inside the document, `steps[2].with.url`; empty for the whole document. */
  path: string;
  message: string;
  severity: 'error' | 'warning';
}

export function formatDiagnostic(d: Diagnostic): string {
  const where = `${d.file}:${d.line}:${d.col}`;
  return d.path ? `${where} ${d.path}: ${d.message}` : `${where} ${d.message}`;
}

export class RiposteError extends Error {
  readonly code: ErrorCode;
  readonly diagnostics: Diagnostic[];
  constructor(code: ErrorCode, message: string, diagnostics: Diagnostic[] = []) {
    super(message);
    this.name = 'RiposteError';
    this.code = code;
    this.diagnostics = diagnostics;
  }
}

/** Throws a RiposteError listing every diagnostic of a file when any is an error. */
export function throwIfErrors(code: ErrorCode, what: string, diags: Diagnostic[]): void {
  const errors = diags.filter((d) => d.severity === 'error');
  if (errors.length === 0) return;
  const body = errors.map(formatDiagnostic).join('\n');
  throw new RiposteError(code, `${what}: ${errors.length} error(s)\n${body}`, errors);
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
