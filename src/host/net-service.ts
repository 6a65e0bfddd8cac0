import { readFile, stat } from 'node:fs/promises';
import { XenemuError } from '../common/errors.js';
import type { Kernel } from '../kernel/kernel.js';
import type { NetStack } from '../kernel/net/stack/net-stack.js';
import { IPV4_BROADCAST, parseIpv4 } from '../kernel/net/stack/packet.js';
import { runPing } from '../kernel/net/stack/ping.js';
import { runUdpStream } from '../kernel/net/stack/udp-stream.js';
import { LINKTYPE_ETHERNET, parsePcap } from '../net/pcap-format.js';
import type { VifEntry } from '../net/vif-registry.js';
import type { NetRpc } from '../protocol/net-rpc.js';
import { bootedKernel } from './booted-kernel.js';
import { rpcMethods, type RpcMethod } from './control-server.js';
import type { Machine } from './machine.js';

/** The largest capture net-inject reads (it holds the file in memory while it delivers it). */
const MAX_INJECT_FILE = 256 * 1024 * 1024;
/** Turns of the event loop in a row net-inject waits for a full rx ring to drain before giving up on the rest. */
const INJECT_MAX_WAITS = 10_000;

/**
 * The daemon's side of `bridge list`, `net-ping`, `net-send` and `net-inject`: ping
 * and the UDP stream run in the guest, on its own stack and NIC; injection puts a
 * capture's frames on the guest's vif from dom0's end (through its capture, like
 * any frame), waiting whenever the guest's rx ring is full.
 */
export function netMethods(machine: Machine): Record<string, RpcMethod> {
  const fabric = machine.net;
  const running = (ref: string): { kernel: Kernel; domid: number; name: string } => {
    const d = machine.toolstack.find(ref);
    return { kernel: bootedKernel(machine, d), domid: d.domid, name: d.name };
  };
  const vifOf = (domid: number, ref: string): VifEntry => {
    const byName = machine.vifs.list().find((v) => v.domid === domid && v.name === ref);
    const vif = byName ?? machine.vifs.find(domid, ref);
    if (vif === undefined) {
      const have = machine.vifs.list().filter((v) => v.domid === domid).map((v) => `${v.devid} (${v.name}, ${v.mac})`);
      throw new XenemuError('ENODEV', `domain ${domid} has no vif ${ref} connected (it has ${have.length === 0 ? 'none' : have.join(', ')})`);
    }
    return vif;
  };
  const stackOf = (k: Kernel, domid: number, devid: number): NetStack => {
    const s = k.net?.interface(devid);
    if (s === undefined) throw new XenemuError('ENODEV', `domain ${domid}'s NIC ${devid} is not up in the guest`);
    return s;
  };
  const ipOf = (text: string): number => {
    const ip = parseIpv4(text);
    if (ip === null) throw new XenemuError('EINVAL', `${text}: not an IPv4 address`);
    return ip;
  };
  return rpcMethods<NetRpc>({
    'net.bridges': () => ({ bridges: fabric.bridgeViews() }),
    'net.ping': async (p) => {
      const { kernel, domid, name } = running(p.ref);
      const dst = ipOf(p.ip);
      const stack = kernel.net?.route();
      if (stack === undefined) throw new XenemuError('ENETUNREACH', `domain ${domid} (${name}) has no network interface up`);
      const r = await runPing(stack, dst, { count: p.count, size: p.size, intervalNs: p.interval * 1e9 }, kernel.clock);
      return { ...r, domid, name };
    },
    'net.send': async (p) => {
      const { kernel, domid, name } = running(p.ref);
      const vif = vifOf(domid, p.vif);
      const dst = p.dest === undefined ? IPV4_BROADCAST : ipOf(p.dest);
      const r = await runUdpStream(stackOf(kernel, domid, vif.devid), { dst, port: p.port, count: p.count, frameSize: p.size }, kernel.clock);
      return { ...r, domid, name, vif: vif.name, dest: p.dest ?? '255.255.255.255', frameSize: p.size };
    },
    'net.inject': async (p) => {
      const { kernel, domid, name } = running(p.ref);
      const vif = vifOf(domid, p.vif);
      const cannot = (err: NodeJS.ErrnoException): never => {
        throw new XenemuError(err.code ?? 'EIO', `cannot read ${p.file}: ${err.message}`);
      };
      // A capture is a regular file of bounded size: a FIFO or a device would hold the daemon reading.
      const st = await stat(p.file).catch(cannot);
      if (!st.isFile()) throw new XenemuError('EINVAL', `${p.file}: not a regular file`);
      if (st.size > MAX_INJECT_FILE) throw new XenemuError('EFBIG', `${p.file}: ${st.size} bytes, more than net-inject takes (${MAX_INJECT_FILE})`);
      const bytes = await readFile(p.file).catch(cannot);
      const pcap = parsePcap(bytes, p.file);
      if (pcap.linkType !== LINKTYPE_ETHERNET) throw new XenemuError('EINVAL', `${p.file}: link type ${pcap.linkType}, not Ethernet (1): its frames cannot go on a vif`);
      const link = fabric.vifLink(domid, vif.devid);
      let frames = 0;
      let sent = 0;
      let waits = 0;
      for (const r of pcap.records) {
        while (!link.send(r.data)) {
          if (++waits > INJECT_MAX_WAITS) throw new XenemuError('EAGAIN', `${vif.name}: the guest took ${frames} of ${pcap.records.length} frames and no more (its rx ring stays full)`);
          await new Promise<void>((resolve) => kernel.clock.defer(resolve));
        }
        waits = 0;
        frames++;
        sent += r.data.length;
      }
      return { domid, name, vif: vif.name, file: p.file, frames, bytes: sent, truncated: pcap.records.filter((r) => r.origLen > r.data.length).length };
    },
  });
}
