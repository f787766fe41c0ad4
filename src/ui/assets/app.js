// SPDX-License-Identifier: Apache-2.0
// Progressive enhancement only: every page works without this script.
