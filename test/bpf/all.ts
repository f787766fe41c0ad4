// SPDX-License-Identifier: Apache-2.0
// entry point for `node --test test/bpf/` (node does not expand a directory
// argument itself): loads every test file of this folder.
import './frames.test.ts';
import './layout.test.ts';
import './sensor.test.ts';
