// SPDX-License-Identifier: Apache-2.0
/** What every page renderer gets: the runtime, who is looking, and the engine's loaded playbooks. */
import type { ApprovalStore } from '../../approvals/store.ts';
import type { VerifyResult } from '../../audit/verify.ts';
import type { LoadedPlaybook, LoadResult } from '../../playbooks/load.ts';
import type { Runtime } from '../../runtime.ts';
import type { Identity } from '../auth.ts';
import type { SafeHtml } from '../html.ts';
import type { LayoutOptions } from '../layout.ts';

export interface PageContext {
  rt: Runtime;
  identity: Identity;
  playbooks: readonly LoadedPlaybook[];
  playbookProblems: readonly LoadResult[];
  approvals: ApprovalStore;
  /** Chain verification, cached briefly unless `fresh`. */
  verify(fresh: boolean): Promise<{ result: VerifyResult; at: Date }>;
  keyId?: string;
}

export interface Page {
  title: string;
  nav?: LayoutOptions['nav'];
  body: SafeHtml;
  status?: number;
}
