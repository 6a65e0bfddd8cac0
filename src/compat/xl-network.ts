/**
 * xl network-attach, network-list and network-detach (tools/xl/xl_nic.c): xl's
 * messages and exit statuses, the daemon's toolstack doing the work. Where libxl would
 * log its reason, a failure says "xenemu: <reason>" and then xl's own summary line.
 */

import { resolve } from 'node:path';
import { DeviceClient } from '../client/devices.js';
import { isRpcError } from '../client/domains.js';
import { parseVifRate, parseVifSpec, VifSpecError, type VifSpecFields } from '../toolstack/config/vif-spec.js';
import type { LibxlDeviceNic } from '../toolstack/libxl/idl.js';
import type { NicInfo } from '../toolstack/devices/vif.js';
import { NETWORK_LIST_HEADER, networkListLine } from '../ui/xl/index.js';
import { findDomain, XlFailure, type XlContext, type XlOutput } from './xl-commands.js';

/**
 * parse_nic_config() over each argument in turn, as xl does: the same fields as one
 * spec joined with commas. Its refusals are xl's words: "Invalid parameter `mac'.",
 * "Invalid parameter `type'.", "unrecognized argument `TOKEN'"; what xl reports in its
 * own way elsewhere (rate, devid, mtu) gets xenemu's reason.
 */
export function vifFromArgs(specs: readonly string[], cwd: string): VifSpecFields {
  const fields: VifSpecFields = {};
  for (const spec of specs) {
    let parsed;
    try {
      parsed = parseVifSpec(spec);
    } catch (err) {
      if (!(err instanceof VifSpecError)) throw err;
      throw new XlFailure(`xenemu: ${err.message}\n`, 1);
    }
    // parse_nic_config() said why and returned 1: network-attach stops there.
    if (parsed.refused.length > 0) throw new XlFailure(`${parsed.refused[0]!.xl}\n`, 1);
    Object.assign(fields, parsed.fields);
  }
  // A relative capture= is the caller's, not the daemon's.
  if (fields.capture !== undefined) fields.capture = resolve(cwd, fields.capture);
  return fields;
}

/**
 * The libxl_device_nic parse_nic_config() fills from the spec alone (what `xl -N
 * network-attach` prints): only what the spec names; libxl's defaults (devid, MAC,
 * bridge, script) come later, in the toolstack.
 */
export function xlParsedNic(v: VifSpecFields): LibxlDeviceNic {
  const rate = v.rate !== undefined ? parseVifRate(v.rate) : undefined;
  return {
    ...(v.backend !== undefined ? { backend_domname: v.backend } : {}),
    ...(v.devid !== undefined ? { devid: v.devid } : {}),
    ...(v.mtu !== undefined ? { mtu: v.mtu } : {}),
    ...(v.model !== undefined ? { model: v.model } : {}),
    ...(v.mac !== undefined ? { mac: v.mac } : {}),
    ...(v.ip !== undefined ? { ip: v.ip } : {}),
    ...(v.bridge !== undefined ? { bridge: v.bridge } : {}),
    ...(v.vifname !== undefined ? { ifname: v.vifname } : {}),
    ...(v.script !== undefined ? { script: v.script } : {}),
    ...(v.type !== undefined ? { nictype: v.type === 'ioemu' ? ('vif_ioemu' as const) : ('vif' as const) } : {}),
    ...(rate !== undefined ? { rate_bytes_per_interval: rate.bytesPerInterval, rate_interval_usecs: rate.intervalUsecs } : {}),
    ...(v.gatewaydev !== undefined ? { gatewaydev: v.gatewaydev } : {}),
    ...(v.trusted !== undefined ? { trusted: v.trusted } : {}),
  };
}

export interface XlNetworkAttachOptions {
  domain: string;
  specs: readonly string[];
  cwd: string;
  /** xl -N: print the nic libxl would be given, attach nothing. */
  dryRun?: boolean;
}
export type XlNetworkAttached = { domid: number; devid: number; mac: string };
export type XlNetworkAttachDryRun = { domid: number; nic: LibxlDeviceNic };

/** main_networkattach(). */
export function xlNetworkAttach(ctx: XlContext, o: XlNetworkAttachOptions & { dryRun?: false }): Promise<XlOutput<XlNetworkAttached>>;
export function xlNetworkAttach(ctx: XlContext, o: XlNetworkAttachOptions): Promise<XlOutput<XlNetworkAttached | XlNetworkAttachDryRun>>;
export async function xlNetworkAttach(ctx: XlContext, o: XlNetworkAttachOptions): Promise<XlOutput<XlNetworkAttached | XlNetworkAttachDryRun>> {
  const client = await ctx.client();
  const domid = await findDomain(client, o.domain);
  const vif = vifFromArgs(o.specs, o.cwd);
  if (o.dryRun === true) {
    const { libxlDeviceNicGenJson, YajlGen } = await import('../toolstack/libxl/index.js');
    const nic = xlParsedNic(vif);
    const g = new YajlGen();
    libxlDeviceNicGenJson(g, nic);
    return { stdout: `vif: ${g.buffer}\n`, data: { domid, nic } };
  }
  try {
    const r = await new DeviceClient(client.rpc).networkAttach(String(domid), vif);
    return { stdout: '', data: { domid, ...r } };
  } catch (err) {
    if (isRpcError(err)) throw new XlFailure(`xenemu: ${err.message}\nlibxl_device_nic_add failed.\n`, 1);
    throw err;
  }
}

/** main_networklist(): the header, then each domain's vifs; a domain not found is skipped. */
export async function xlNetworkList(ctx: XlContext, o: { domains: readonly string[] }): Promise<XlOutput<Array<{ domid: number; nics: NicInfo[] }>>> {
  const client = await ctx.client();
  const devices = new DeviceClient(client.rpc);
  let stdout = NETWORK_LIST_HEADER;
  const data: Array<{ domid: number; nics: NicInfo[] }> = [];
  for (const d of o.domains) {
    let domid: number;
    try {
      domid = await findDomain(client, d);
    } catch (err) {
      if (!(err instanceof XlFailure)) throw err;
      // As block-list: named on stderr and skipped, the status stays 0.
      ctx.note(`${d} is an invalid domain identifier\n`);
      continue;
    }
    let nics: NicInfo[];
    try {
      nics = await devices.networkList(String(domid));
    } catch (err) {
      // libxl_device_nic_list() of a domain that is not there: no vifs.
      if (isRpcError(err, 'ESRCH')) continue;
      throw err;
    }
    for (const n of nics) stdout += networkListLine(n);
    data.push({ domid, nics });
  }
  return { stdout, data };
}

/** main_networkdetach(): DEVID (no colon) or MAC. */
export async function xlNetworkDetach(ctx: XlContext, o: { domain: string; dev: string }): Promise<XlOutput<{ domid: number; devid: number }>> {
  const client = await ctx.client();
  const domid = await findDomain(client, o.domain);
  try {
    const r = await new DeviceClient(client.rpc).networkDetach(String(domid), o.dev);
    return { stdout: '', data: { domid, devid: r.devid } };
  } catch (err) {
    if (isRpcError(err, 'ENODEV') || isRpcError(err, 'ESRCH')) throw new XlFailure(`Unknown device ${o.dev}.\n`, 1);
    if (isRpcError(err)) throw new XlFailure(`xenemu: ${err.message}\nlibxl_device_nic_del failed.\n`, 1);
    throw err;
  }
}
