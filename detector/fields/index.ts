// SPDX-License-Identifier: Apache-2.0
/**
 * The detector's fields: the DetectorEvent contract, the field table, and the
 * resolver handed to the condition compiler.
 *
 * @example
 *   const c = compileCondition('proc.name = bash and container.id != host', { resolve: resolveEventField });
 *   c.evaluate(event);
 */
export type { ArgValue, ContainerInfo, DetectorEvent, FdInfo, FdType, K8sInfo, ProcessInfo } from './event.ts';
export { KNOWN_EVENT_TYPES, SENSOR_EVENT_TYPES } from './event-types.ts';
export { isOpenCreate, isOpenRead, isOpenWrite, renderOpenFlags, renderPtraceRequest, renderResult } from './flags.ts';
export { type FieldMatch, lookupField, resolveEventField } from './lookup.ts';
export { type FieldDef, FIELDS, type FieldType, formatClock, formatIso } from './table.ts';
export { checkFieldTypes, type TypeIssue } from './validate.ts';
