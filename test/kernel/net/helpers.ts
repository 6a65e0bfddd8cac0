import { XenbusState } from '../../../src/abi/index.js';
import type { Kernel } from '../../../src/kernel/kernel.js';
import type { NetfrontNic } from '../../../src/kernel/net/netfront.js';
import type { EthernetLink } from '../../../src/net/link.js';
import type { XsClient } from '../../../src/protocol/xs-client.js';
import { until, type TestMachine } from '../../helpers/machine.js';
import { readState, unplug } from '../blk/helpers.js';

/** A vif as a test attaches it: what libxl writes for `mac=...,bridge=...` (xenstore-layout.md). */
export interface VifNodes {
  frontDomid: number;
  backDomid: number;
  devid: number;
  mac: string;
  bridge?: string;
  ip?: string;
}

export const vifFront = (s: VifNodes): string => `/local/domain/${s.frontDomid}/device/vif/${s.devid}`;
export const vifBack = (s: VifNodes): string => `/local/domain/${s.backDomid}/backend/vif/${s.frontDomid}/${s.devid}`;

/** Both folders in one transaction, with libxl's keys and permissions. */
export async function addVif(xs: XsClient, s: VifNodes): Promise<void> {
  const fe = vifFront(s);
  const be = vifBack(s);
  await xs.transaction(async (tx) => {
    const front: Record<string, string> = { backend: be, 'backend-id': String(s.backDomid), state: String(XenbusState.Initialising), handle: String(s.devid), mac: s.mac, trusted: '1', mtu: '1500' };
    const back: Record<string, string> = {
      frontend: fe,
      'frontend-id': String(s.frontDomid),
      online: '1',
      state: String(XenbusState.Initialising),
      script: '/etc/xen/scripts/vif-bridge',
      mac: s.mac,
      bridge: s.bridge ?? 'xenbr0',
      handle: String(s.devid),
      type: 'vif',
      ...(s.ip !== undefined ? { ip: s.ip } : {}),
    };
    await xs.mkdir(fe, tx);
    await xs.setPerms(fe, [`n${s.frontDomid}`, `r${s.backDomid}`], tx);
    await xs.mkdir(be, tx);
    await xs.setPerms(be, [`n${s.backDomid}`, `r${s.frontDomid}`], tx);
    for (const [k, v] of Object.entries(front)) await xs.write(`${fe}/${k}`, v, tx);
    for (const [k, v] of Object.entries(back)) await xs.write(`${be}/${k}`, v, tx);
  });
}

/** What vif-bridge writes once the backend is in InitWait. */
export async function vifHotplug(xs: XsClient, s: VifNodes): Promise<void> {
  await until(async () => (await readState(xs, vifBack(s))) === XenbusState.InitWait, `${vifBack(s)} InitWait`);
  await xs.write(`${vifBack(s)}/hotplug-status`, 'connected');
}

/** Attach a vif by hand and wait until both ends are connected; the guest's NIC and dom0's link. */
export async function attachVif(tm: TestMachine, guest: Kernel, s: VifNodes): Promise<{ nic: NetfrontNic; link: EthernetLink }> {
  await addVif(tm.xs, s);
  await vifHotplug(tm.xs, s);
  const back = tm.m.kernel(s.backDomid)!;
  await until(() => guest.netfront.nic(s.devid) !== undefined && back.netback.link(s.frontDomid, s.devid) !== undefined, `vif ${s.frontDomid}.${s.devid} connected`);
  return { nic: guest.netfront.nic(s.devid)!, link: back.netback.link(s.frontDomid, s.devid)! };
}

export function removeVif(xs: XsClient, s: VifNodes): Promise<void> {
  return unplug(xs, vifFront(s), vifBack(s));
}

/** An Ethernet frame of `length` bytes: dst, src, ethertype 0x88b5 (local experimental), then a pattern. */
export function frame(length: number, dst: string, src: string, seed: number): Uint8Array {
  const f = new Uint8Array(length);
  f.set(macBytes(dst), 0);
  f.set(macBytes(src), 6);
  f[12] = 0x88;
  f[13] = 0xb5;
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 14; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    f[i] = x & 0xff;
  }
  return f;
}

function macBytes(mac: string): number[] {
  return mac.split(':').map((b) => Number.parseInt(b, 16));
}

/** Collect copies of the frames a link delivers. */
export function collect(link: EthernetLink): Uint8Array[] {
  const got: Uint8Array[] = [];
  link.onFrame = (f) => got.push(f.slice());
  return got;
}
