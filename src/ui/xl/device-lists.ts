/**
 * What xl 4.17 prints for the device listers xenemu's host has nothing to list for
 * (tools/xl/xl_vtpm.c, xl_vkb.c, xl_console.c, xl_pci.c, xl_flask.c): the headers some
 * of them print before looking at any domain, and the lines libxl and xl print when the
 * host lacks the feature. The listers that print a header only above a device (pci-list,
 * usb-list, vdispl-list, vsnd-list) print nothing here.
 */

import { cprintf } from './cprintf.js';

/** main_vtpmlist(): the header, printed before the domains are looked up. */
export const VTPM_LIST_HEADER = cprintf('%-3s %-2s %-36s %-6s %-5s %-6s %-5s %-10s\n', 'Idx', 'BE', 'Uuid', 'handle', 'state', 'evt-ch', 'ring-ref', 'BE-path');

/** main_vkblist(): the header, printed before the domains are looked up. */
export const VKB_LIST_HEADER = cprintf('%-3s %-2s %-6s %-5s %-6s %6s %-10s %-10s %-30s\n', 'Idx', 'BE', 'handle', 'state', 'evt-ch', 'ref', 'ID', 'BE-type', 'BE-path');

/** main_channellist(): the header (its last column has an empty title). */
export const CHANNEL_LIST_HEADER = cprintf('%-3s %-2s %-5s %-6s %8s %-10s %-30s\n', 'Idx', 'BE', 'state', 'evt-ch', 'ring-ref', 'connection', '');

/**
 * libxl_device_pci_assignable_list() when dom0 has no /sys/bus/pci/drivers/pciback,
 * as xl's logger prints libxl's LOG(ERROR, ...) (the line is libxl_pci.c's in every 4.17
 * release); xl then prints no device and exits 0.
 */
export const PCIBACK_NOT_LOADED = 'libxl: error: libxl_pci.c:444:libxl_device_pci_assignable_list: Looks like pciback driver not loaded\n';

/** main_getenforce() when the flask op fails with ENOSYS: Xen has no FLASK (stdout; xl returns -1, status 255). */
export const FLASK_XSM_DISABLED = 'Flask XSM Disabled\n';

/** main_usblist() given more than the domain (stderr; exit(-1), status 255). */
export const USB_LIST_INVALID_ARGUMENTS = 'Invalid arguments.\n';
