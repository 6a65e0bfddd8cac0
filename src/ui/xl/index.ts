/**
 * Pure formatters and argument parsers for xenemu's xl-compatible commands, byte-exact
 * with xl 4.17 (tools/xl in xen.git stable-4.17). Inputs are libxl's plain data
 * (src/toolstack/libxl/rows.ts); nothing here touches the hypervisor model.
 */
export * from '../../toolstack/libxl/rows.js';
export * from './options.js';
export { cprintf, CFormatError, nsToSecondsLikeXl, u64ToFloat } from './cprintf.js';
export { printBitmap } from './bitmap.js';
export {
  LIST_HEADER,
  formatList,
  listHeader,
  listLine,
  formatVmList,
  formatDomid,
  formatDomname,
  domidNotFoundMessage,
  domnameNotFoundMessage,
  listDomainNotFoundMessage,
} from './list.js';
export { formatListLong, formatDomainConfigJson } from './list-long.js';
export { VCPU_LIST_HEADER, VCPU_INFO_HEADER, formatVcpuList, formatVcpuPinDryRun } from './vcpu-list.js';
export { formatInfo, type XlInfoOptions } from './info.js';
export { UPTIME_HEADER, formatUptime, uptimeToString, domainUptime, dom0Uptime, type XlUptimeOptions } from './uptime.js';
export { BLOCK_LIST_HEADER, BLOCK_LIST_LONG_HEADER, blockListLine, blockListLongLine } from './block-list.js';
export { NETWORK_LIST_HEADER, networkListLine } from './network-list.js';
export { VTPM_LIST_HEADER, VKB_LIST_HEADER, CHANNEL_LIST_HEADER, PCIBACK_NOT_LOADED, FLASK_XSM_DISABLED, USB_LIST_INVALID_ARGUMENTS } from './device-lists.js';
export * from './cmdtable.js';
export { XlArgError, parseCpuList, parseRange, parseMemSizeKb, parseMemSizeKbRaw, type CpuListOptions } from './args.js';
