// SPDX-License-Identifier: Apache-2.0
/** The shapes the rule loader produces. */
import type { Diagnostic } from '../../src/common/errors.ts';
import type { FieldValue, Priority } from '../../src/alerts/alert.ts';
import type { FieldRef } from '../condition/index.ts';
import type { OpenPaths } from '../condition/openpaths.ts';
import type { DetectorEvent } from '../fields/index.ts';

export type RuleMatching = 'first' | 'all';

/** One loaded syscall rule, compiled. */
export interface CompiledRule {
  name: string;
  desc: string;
  priority: Priority;
  tags: string[];
  /** Always `syscall` for loaded rules. */
  source: string;
  /** The output template, `%field` tokens unexpanded. */
  output: string;
  /** The condition as written (appends included, exceptions not). */
  condition: string;
  /** Where the rule was (last) defined. */
  file: string;
  line: number;
  /** Load order, 0-based: rule_matching=first picks the lowest. */
  index: number;
  /** Event types the rule can match (`'any'`: not restricted). */
  eventTypes: Set<string> | 'any';
  /** Fields read by the condition, exceptions and macros included. */
  fields: FieldRef[];
  /** Path prefixes of the read-only opens this rule can match (`any`: no bound); see condition/openpaths.ts. */
  openPaths: OpenPaths;
  evaluate(ev: DetectorEvent): boolean;
  /** The output with every `%field` replaced (`<NA>` when absent). */
  formatOutput(ev: DetectorEvent): string;
  /** Falco's `output_fields`: each `%field` of the output by its text. */
  outputFields(ev: DetectorEvent): Record<string, FieldValue>;
}

/** A rule of another source (`k8s_audit`, plugins): kept aside, not compiled. */
export interface ForeignRule {
  name: string;
  source: string;
  file: string;
  line: number;
}

export interface Ruleset {
  /** Enabled syscall rules, in load order. */
  rules: CompiledRule[];
  warnings: Diagnostic[];
  errors: Diagnostic[];
  /** Rules per event type, in load order; rules matching any type are in every list. */
  byEventType: Map<string, CompiledRule[]>;
  /** Rules whose event types are not restricted (used for types absent from byEventType). */
  anyTypeRules: CompiledRule[];
  /** The union of the rules' event types: what the sensor must trace. */
  eventTypes: Set<string> | 'any';
  ruleMatching: RuleMatching;
  /** Rules with another `source`, kept aside. */
  foreign: ForeignRule[];
  /** Names of rules loaded but disabled (`enabled: false`). */
  disabled: string[];
}

export interface LoadOptions {
  /** `first`: an event raises at most the first matching rule (load order); `all` (default): every match. */
  ruleMatching?: RuleMatching;
}

export interface RulesSource {
  file: string;
  text: string;
}
