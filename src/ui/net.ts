/**
 * Text of the network commands: `bridge list` as brctl prints a bridge (show) and its
 * forwarding table (showmacs), and the one-line summaries of net-send and net-inject.
 * net-ping prints ping's own text (src/kernel/net/stack/ping-output.ts).
 */
import type { BridgeListResult, NetInjectResult, NetSendResult } from '../protocol/net-rpc.js';

/**
 * Linux netback gives every vif the MAC fe:ff:ff:ff:ff:ff (so the bridge never takes a
 * guest's address as its own), and a bridge's id is its priority (8000) and the
 * lowest MAC of its ports: so a bridge with vifs is 8000.feffffffffff, an empty one
 * 8000.000000000000.
 */
function bridgeId(ports: number): string {
  return ports === 0 ? '8000.000000000000' : '8000.feffffffffff';
}

export function formatBridgeList(r: BridgeListResult): string {
  const lines = ['bridge name\tbridge id\t\tSTP enabled\tinterfaces'];
  for (const b of r.bridges) {
    const [first, ...rest] = b.ports.map((p) => p.name);
    lines.push(`${b.name}\t\t${bridgeId(b.ports.length)}\tno\t\t${first ?? ''}`);
    for (const p of rest) lines.push(`\t\t\t\t\t\t\t${p}`);
  }
  for (const b of r.bridges) {
    if (b.ports.length === 0) continue;
    lines.push('', `${b.name}: ageing ${b.ageingSeconds} s, capture ${b.capture ?? 'none'}`, 'port no\tmac addr\t\tis local?\tageing timer');
    for (const m of b.macs) {
      const age = Math.floor(m.ageSeconds * 100);
      lines.push(`${String(m.portNo).padStart(3)}\t${m.mac}\tno\t\t${String(Math.floor(age / 100)).padStart(4)}.${String(age % 100).padStart(2, '0')}`);
    }
  }
  return lines.join('\n');
}

export function formatNetSend(r: NetSendResult): string {
  const s = r.elapsedNs / 1e9;
  const fps = s > 0 ? Math.round(r.frames / s) : 0;
  const mbs = s > 0 ? r.bytes / s / 1e6 : 0;
  return `${r.name}: sent ${r.frames} frames of ${r.frameSize} bytes (${r.bytes} bytes) from ${r.vif} to ${r.dest} in ${s.toFixed(3)} s: ${fps} frames/s, ${mbs.toFixed(1)} MB/s; the ring was full ${r.ringFullWaits} times`;
}

export function formatNetInject(r: NetInjectResult): string {
  const cut = r.truncated > 0 ? ` (${r.truncated} of them cut short in the capture, delivered as captured)` : '';
  return `${r.name}: injected ${r.frames} frames (${r.bytes} bytes) from ${r.file} into ${r.vif}${cut}`;
}
