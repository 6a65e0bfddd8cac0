/**
 * xl's read-only listers of what xenemu's host does not have: pci-list,
 * pci-assignable-list, usb-list, vtpm-list, vkb-list, vdispl-list, vsnd-list,
 * channel-list (tools/xl/xl_pci.c, xl_usb.c, xl_vtpm.c, xl_vkb.c, xl_vdispl.c,
 * xl_vsnd.c, xl_console.c), claims (xl_info.c) and getenforce (xl_flask.c), with xl
 * 4.17's output and exit statuses.
 *
 * libxl lists those devices from XenStore: /libxl/<domid>/device/<kind> (vusb, vtpm,
 * vkb, vdispl, vsnd; channels are the consoles there with a name) and dom0's
 * backend/pci/<domid>/0/num_devs. xenemu's toolstack writes vbd, vif and the primary
 * console (no name) only: a config's vkb (made from its vfb), channel, vtpm, pci, usb,
 * vdispl and vsnd are parsed or reported as not emulated, never written. So every
 * domain, in any state, has none of them, and a domid no domain has has none either
 * (xl looks up no domain for a number). What differs is xl's own: which header comes
 * first, and how a name no domain has is answered — find_domain() ends xl with status
 * 1, the others name it and go on.
 */

import { FLASK_XSM_DISABLED, PCIBACK_NOT_LOADED, USB_LIST_INVALID_ARGUMENTS } from '../ui/xl/device-lists.js';
import { qualifierToDomid } from './xl-block.js';
import { findDomain, xlList, XlFailure, type XlContext, type XlListResult, type XlOutput } from './xl-commands.js';

/** Each listed domain's devices: none, on this host. */
export type XlDeviceListData = Array<{ domid: number; devices: [] }>;

/**
 * The loop of vkb-list and channel-list: `header` first, then find_domain() on each
 * operand; a name no domain has ends the command with status 1, the header printed.
 */
export async function xlListOrExit(ctx: XlContext, domains: readonly string[], header: string): Promise<XlOutput<XlDeviceListData>> {
  const client = await ctx.client();
  const data: XlDeviceListData = [];
  for (const d of domains) {
    try {
      data.push({ domid: await findDomain(client, d), devices: [] });
    } catch (err) {
      if (err instanceof XlFailure) throw new XlFailure(err.stderr, err.exitStatus, header);
      throw err;
    }
  }
  return { stdout: header, data };
}

/**
 * The loop of vtpm-list, vdispl-list and vsnd-list: `header` first (vtpm-list's; the
 * others have none), then libxl_domain_qualifier_to_domid() on each operand; a name no
 * domain has is named on stderr and skipped, and the status stays 0.
 */
export async function xlListOrSkip(ctx: XlContext, domains: readonly string[], header = ''): Promise<XlOutput<XlDeviceListData>> {
  const client = await ctx.client();
  const data: XlDeviceListData = [];
  for (const d of domains) {
    const domid = await qualifierToDomid(client, d);
    if (domid === null) ctx.note(`${d} is an invalid domain identifier\n`);
    else data.push({ domid, devices: [] });
  }
  return { stdout: header, data };
}

/**
 * main_pcilist(): find_domain() on the first operand (the others are ignored). libxl
 * finds no backend/pci node, so xl prints nothing, not even its header.
 */
export async function xlPciList(ctx: XlContext, o: { domain: string }): Promise<XlOutput<XlDeviceListData>> {
  return xlListOrExit(ctx, [o.domain], '');
}

/** main_usblist(): find_domain(), then more operands are refused; no controller, so no line at all. */
export async function xlUsbList(ctx: XlContext, o: { domain: string; extra: number }): Promise<XlOutput<XlDeviceListData>> {
  const listed = await xlListOrExit(ctx, [o.domain], '');
  if (o.extra > 0) throw new XlFailure(USB_LIST_INVALID_ARGUMENTS, 255);
  return listed;
}

/**
 * main_pciassignable_list(): libxl reads dom0's pciback driver directory, and the
 * emulated dom0 kernel has no PCI bus: libxl logs why, xl lists nothing and exits 0.
 * -n (names) changes nothing then.
 */
export async function xlPciAssignableList(ctx: XlContext): Promise<XlOutput<[]>> {
  await ctx.client();
  ctx.note(PCIBACK_NOT_LOADED);
  return { stdout: '', data: [] };
}

/**
 * main_claims(): list_domains() with the Claimed column. claim_mode is xl.conf's
 * default (1), so xl says nothing about it; the emulated hypervisor has no outstanding
 * claims (XENMEM_claim_pages is not emulated), 0 for each domain.
 */
export function xlClaims(ctx: XlContext): Promise<XlOutput<XlListResult>> {
  return xlList(ctx, { domains: [], long: false, verbose: false, context: false, cpupool: false, numa: false, claim: true });
}

/**
 * main_getenforce(): the emulated hypervisor has no XSM, so the flask op fails with
 * ENOSYS, as Xen's dummy XSM answers it; xl prints that on stdout and returns -1
 * (status 255). It reads no options: `-h` is not help here.
 */
export async function xlGetenforce(ctx: XlContext): Promise<never> {
  await ctx.client();
  throw new XlFailure('', 255, FLASK_XSM_DISABLED);
}
