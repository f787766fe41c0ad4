// SPDX-License-Identifier: Apache-2.0
/**
 * The playbook JSON Schema (draft-07). The validator uses exactly this object;
 * `schemas/playbook.schema.json` is generated from it (`riposte playbooks schema`)
 * and a test fails when the published file drifts.
 */
import { DURATION_PATTERN } from '../common/duration.ts';
import type { ActionRegistry } from '../actions/registry.ts';

const duration = { type: 'string', pattern: DURATION_PATTERN, description: 'a duration like 5m' };
const stringList = { type: 'array', items: { type: 'string', minLength: 1 } };
const stepId = { type: 'string', pattern: '^[a-z][a-z0-9_]{0,62}$', description: 'a step id of lowercase letters, digits and _ (usable in conditions as steps.<id>)' };
const STEPS_REF = { $ref: '#/definitions/steps' };
const PRIORITY_RE = '(emergency|alert|critical|error|warning|notice|informational|info|debug)';

export interface PlaybookSchemas {
  /** The document with steps as plain objects; each step is checked with its kind's schema. */
  document: Record<string, unknown>;
  steps: Record<'action' | 'approval' | 'notify' | 'wait' | 'parallel', Record<string, unknown>>;
  /** The published schema (editors): the document with steps as a oneOf of the kinds. */
  published: Record<string, unknown>;
}

const memo = new WeakMap<ActionRegistry, PlaybookSchemas>();

export function playbookSchemas(registry: ActionRegistry): PlaybookSchemas {
  let s = memo.get(registry);
  if (!s) {
    s = buildSchemas(registry);
    memo.set(registry, s);
  }
  return s;
}

function buildSchemas(registry: ActionRegistry): PlaybookSchemas {
  const common = {
    id: stepId,
    name: { type: 'string' },
    if: { type: 'string', minLength: 1, description: 'Condition (Falco syntax) over alert fields and earlier step outputs.' },
    retry: {
      type: 'object',
      additionalProperties: false,
      required: ['attempts'],
      properties: { attempts: { type: 'integer', minimum: 1, maximum: 20 }, backoff: duration, factor: { type: 'number', minimum: 1, maximum: 10 }, maxBackoff: duration },
    },
    timeout: duration,
    onError: {
      oneOf: [
        { type: 'string', enum: ['fail', 'continue'] },
        { type: 'object', additionalProperties: false, required: ['goto'], properties: { goto: stepId } },
      ],
    },
  };
  const actionNames = registry.names();
  const actionStepOf = (published: boolean) => ({
    type: 'object',
    additionalProperties: false,
    required: ['id', 'action'],
    properties: { ...common, action: published ? { type: 'string', enum: actionNames } : { type: 'string', minLength: 1 }, with: { type: 'object' } },
    // per-action parameter schemas, for editor completion (the loader checks `with` itself, with positions)
    // biome-ignore lint/suspicious/noThenProperty: JSON Schema if/then
    ...(published ? { allOf: registry.all().map((a) => ({ if: { properties: { action: { const: a.name } } }, then: { properties: { with: a.params } } })) } : {}),
  });
  const actionStep = actionStepOf(false);
  const approvalStep = {
    type: 'object',
    additionalProperties: false,
    required: ['id', 'approval'],
    properties: {
      ...common,
      approval: {
        type: 'object',
        additionalProperties: false,
        required: ['timeout'],
        properties: {
          approvers: { type: 'object', additionalProperties: false, properties: { users: stringList, groups: stringList } },
          minApprovals: { type: 'integer', minimum: 1, maximum: 10 },
          timeout: duration,
          onTimeout: { type: 'string', enum: ['deny', 'approve', 'continue'] },
          message: { type: 'string' },
          notify: stringList,
        },
      },
    },
  };
  const notifyStep = {
    type: 'object',
    additionalProperties: false,
    required: ['id', 'notify'],
    properties: {
      ...common,
      notify: {
        type: 'object',
        additionalProperties: false,
        required: ['to', 'message'],
        properties: { to: { ...stringList, minItems: 1 }, message: { type: 'string' }, severity: { type: 'string' } },
      },
    },
  };
  const waitStep = { type: 'object', additionalProperties: false, required: ['id', 'wait'], properties: { ...common, wait: duration } };
  const parallelStep = (branchSteps: unknown) => ({
    type: 'object',
    additionalProperties: false,
    required: ['id', 'parallel'],
    properties: {
      ...common,
      parallel: {
        type: 'object',
        additionalProperties: false,
        required: ['branches'],
        properties: {
          branches: {
            type: 'array',
            minItems: 2,
            items: { type: 'object', additionalProperties: false, required: ['steps'], properties: { name: { type: 'string' }, steps: branchSteps } },
          },
        },
      },
    },
  });
  const document = (stepsRef: unknown, definitions?: unknown) => ({
    title: 'Riposte playbook',
    type: 'object',
    additionalProperties: false,
    required: ['apiVersion', 'kind', 'metadata', 'trigger', 'steps'],
    ...(definitions ? { definitions } : {}),
    properties: {
      apiVersion: { type: 'string', enum: ['riposte.dev/v1'] },
      kind: { type: 'string', enum: ['Playbook'] },
      metadata: {
        type: 'object',
        additionalProperties: false,
        required: ['name'],
        properties: {
          name: { type: 'string', pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$', description: 'a DNS-label name like isolate-miner' },
          description: { type: 'string' },
          labels: { type: 'object', additionalProperties: { type: 'string' } },
        },
      },
      enabled: { type: 'boolean' },
      trigger: {
        type: 'object',
        additionalProperties: false,
        properties: {
          rules: { ...stringList, description: 'Rule names, exact or glob (`*`, `?`).' },
          priority: {
            type: 'string',
            pattern: `^\\s*((>=|<=|>|<)?\\s*${PRIORITY_RE}|${PRIORITY_RE}\\s*\\.\\.\\s*${PRIORITY_RE})\\s*$`,
            description: 'a priority like ">=critical" or "warning..critical"',
          },
          tags: { type: 'object', additionalProperties: false, properties: { all: stringList, any: stringList } },
          source: { type: ['string', 'array'], items: { type: 'string' } },
          condition: { type: 'string', minLength: 1 },
        },
      },
      options: {
        type: 'object',
        additionalProperties: false,
        properties: {
          dedupe: { type: 'object', additionalProperties: false, required: ['key', 'window'], properties: { key: { type: 'string' }, window: duration } },
          maxConcurrentRuns: { type: 'integer', minimum: 1 },
          dryRun: { type: 'boolean' },
          guardrails: {
            type: 'object',
            additionalProperties: false,
            properties: {
              protectedNamespaces: stringList,
              maxDestructiveActions: { type: 'object', additionalProperties: false, required: ['count', 'window'], properties: { count: { type: 'integer', minimum: 0 }, window: duration } },
            },
          },
        },
      },
      steps: stepsRef,
    },
  });
  const plainSteps = { type: 'array', minItems: 1, items: { type: 'object' } };
  const steps = { action: actionStep, approval: approvalStep, notify: notifyStep, wait: waitStep, parallel: parallelStep(plainSteps) };
  const published = {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://riposte.dev/schemas/playbook.schema.json',
    ...document(
    { $ref: '#/definitions/steps' },
    {
      step: { oneOf: [actionStepOf(true), approvalStep, notifyStep, waitStep, parallelStep(STEPS_REF)] },
      steps: { type: 'array', minItems: 1, items: { $ref: '#/definitions/step' } },
    }),
  };
  return { document: document(plainSteps), steps, published };
}
