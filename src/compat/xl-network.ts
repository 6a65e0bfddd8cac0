/**
 * xl network-attach, network-list and network-detach (tools/xl/xl_nic.c): xl's
 * messages and exit statuses, the daemon's toolstack doing the work. Where libxl would
 * log its reason, a failure says "xenemu: <reason>" and then xl's own summary line.
 */

import { DeviceClient } from '../client/devices.js';
import { isRpcError } from '../client/domains.js';
import { parseVifSpec, VifSpecError, type VifSpecFields } from '../toolstack/config/vif-spec.js';
import type { NicInfo } from '../toolstack/devices/vif.js';
import { NETWORK_LIST_HEADER, networkListLine } from '../ui/xl/index.js';
import { findDomain, XlFailure, type XlContext, type XlOutput } from './xl-commands.js';

/**
 * parse_nic_config() over each argument in turn, as xl does: the same fields as one
 * spec joined with commas. Its refusals are xl's words: "Invalid parameter `mac'.",
 * "Invalid parameter `type'.", "unrecognized argument `TOKEN'"; what xl reports in its
 * own way elsewhere (rate, devid, mtu) gets xenemu's reason.
 */
export function vifFromArgs(specs: readonly string[]): VifSpecFields {
  const fields: VifSpecFields = {};
  for (const spec of specs) {
    try {
      Object.assign(fields, parseVifSpec(spec).fields);
    } catch (err) {
      if (!(err instanceof VifSpecError)) throw err;
      // An unrecognized item's offset is the item's; a bad value's is the value's.
      if (/^unrecognized argument/.test(err.message)) throw new XlFailure(`unrecognized argument \`${/^[^,]*/.exec(spec.slice(err.offset))![0]}'\n`, 1);
      const bad = /^invalid (mac|type) /.exec(err.message);
      if (bad !== null) throw new XlFailure(`Invalid parameter \`${bad[1]}'.\n`, 1);
      throw new XlFailure(`xenemu: ${err.message}\n`, 1);
    }
  }
  return fields;
}

/** main_networkattach(). */
export async function xlNetworkAttach(ctx: XlContext, o: { domain: string; specs: readonly string[] }): Promise<XlOutput<{ domid: number; devid: number; mac: string }>> {
  const client = await ctx.client();
  const domid = await findDomain(client, o.domain);
  const vif = vifFromArgs(o.specs);
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
