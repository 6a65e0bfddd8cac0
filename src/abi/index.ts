/**
 * Typed views over guest-visible Xen structures (x86_64, Xen 4.17 public headers).
 * See each module for the header it mirrors; test/abi/offsets.test.ts checks every
 * table and constant against those headers with a C compiler.
 */
export * from './bitmap.js';
export * from './blkif.js';
export * from './byte-ring.js';
export * from './console-ring.js';
export * from './constants.js';
export * from './errors.js';
export * from './grant-table.js';
export * from './layout.js';
export * from './netif.js';
export * from './ring.js';
export * from './ring-endpoint.js';
export * from './shared-info.js';
export * from './start-info.js';
export * from './vcpu-info.js';
export * from './xenstore-ring.js';
