// SPDX-License-Identifier: Apache-2.0
/** The validated playbook model: what the compiler and the engine consume. */
import type { Priority } from '../alerts/alert.ts';

export interface Playbook {
  apiVersion: 'riposte.dev/v1';
  kind: 'Playbook';
  metadata: { name: string; description?: string; labels?: Record<string, string> };
  enabled: boolean;
  trigger: Trigger;
  options: PlaybookOptions;
  steps: Step[];
  /** Where it was loaded from, for messages; not part of the version hash. */
  source?: { file: string };
}

export interface Trigger {
  rules?: string[];
  /** Inclusive range of priorities, from the `">=critical"` / `"warning..critical"` syntax. */
  priority?: { min: Priority; max: Priority };
  tags?: { all?: string[]; any?: string[] };
  source?: string[];
  condition?: string;
}

export interface PlaybookOptions {
  dedupe?: { key: string; window: string };
  maxConcurrentRuns?: number;
  dryRun?: boolean;
  guardrails?: { protectedNamespaces?: string[]; maxDestructiveActions?: { count: number; window: string } };
}

export type OnError = 'fail' | 'continue' | { goto: string };

export interface StepCommon {
  id: string;
  name?: string;
  if?: string;
  retry?: { attempts: number; backoff: string; factor?: number; maxBackoff?: string };
  timeout?: string;
  onError?: OnError;
}

export interface ActionStep extends StepCommon {
  action: string;
  with?: Record<string, unknown>;
}
export interface ApprovalStep extends StepCommon {
  approval: {
    approvers?: { users?: string[]; groups?: string[] };
    minApprovals?: number;
    timeout: string;
    onTimeout?: 'deny' | 'approve' | 'continue';
    message?: string;
    notify?: string[];
  };
}
export interface NotifyStep extends StepCommon {
  notify: { to: string[]; message: string; severity?: string };
}
export interface WaitStep extends StepCommon {
  wait: string;
}
export interface ParallelStep extends StepCommon {
  parallel: { branches: { name?: string; steps: Step[] }[] };
}

export type Step = ActionStep | ApprovalStep | NotifyStep | WaitStep | ParallelStep;

export type StepKind = 'action' | 'approval' | 'notify' | 'wait' | 'parallel';

export function stepKind(s: Step): StepKind {
  if ('action' in s) return 'action';
  if ('approval' in s) return 'approval';
  if ('notify' in s) return 'notify';
  if ('wait' in s) return 'wait';
  return 'parallel';
}

/** Every step, depth first, with its path in the document (`steps[2].parallel.branches[0].steps[1]`). */
export function walkSteps(steps: Step[], path: (string | number)[] = ['steps']): { step: Step; path: (string | number)[] }[] {
  const out: { step: Step; path: (string | number)[] }[] = [];
  steps.forEach((step, i) => {
    const p = [...path, i];
    out.push({ step, path: p });
    if ('parallel' in step) {
      step.parallel.branches.forEach((b, j) => {
        out.push(...walkSteps(b.steps, [...p, 'parallel', 'branches', j, 'steps']));
      });
    }
  });
  return out;
}
