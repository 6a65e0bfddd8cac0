/**
 * The network's readers of untrusted bytes under arbitrary input: the pcap reader
 * (any file a user hands to net-inject) and the guest stack's frame parser (anything
 * that arrives on a NIC). Neither throws anything but its own error; a valid capture
 * cut anywhere is refused at the cut; the stack answers only what is for it.
 */
import assert from 'node:assert/strict';
import test from 'ava';
import fc from 'fast-check';
import { VirtualClock } from '../../src/hypervisor/clock.js';
import { NetStack } from '../../src/kernel/net/stack/net-stack.js';
import { buildArp, buildIpFrame, ETH_HLEN, IP_HLEN, parseFrame, writeIcmpEcho, writeUdp } from '../../src/kernel/net/stack/packet.js';
import { parseMac } from '../../src/net/mac.js';
import { parsePcap, PcapFormatError, pcapGlobalHeader, PCAP_GLOBAL_HEADER_SIZE, PCAP_RECORD_HEADER_SIZE, writeRecordHeader } from '../../src/net/pcap-format.js';

const SEED = 0x9ca9;

function pcapOf(frames: Uint8Array[]): Uint8Array {
  const size = PCAP_GLOBAL_HEADER_SIZE + frames.reduce((n, f) => n + PCAP_RECORD_HEADER_SIZE + f.length, 0);
  const b = new Uint8Array(size);
  b.set(pcapGlobalHeader(), 0);
  const v = new DataView(b.buffer);
  let at = PCAP_GLOBAL_HEADER_SIZE;
  for (const [i, f] of frames.entries()) {
    writeRecordHeader(v, at, i, 0, f.length, f.length);
    b.set(f, at + PCAP_RECORD_HEADER_SIZE);
    at += PCAP_RECORD_HEADER_SIZE + f.length;
  }
  return b;
}

test('pcap reader: a valid capture reads back; cut anywhere inside a record, it is refused at or before the cut', (t) => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 10 }), fc.nat(), (frames, cutAt) => {
      const file = pcapOf(frames);
      assert.deepEqual(parsePcap(file, 'f').records.map((r) => [...r.data]), frames.map((f) => [...f]));
      const cut = cutAt % (file.length + 1);
      const ends = new Set<number>([PCAP_GLOBAL_HEADER_SIZE]);
      let at = PCAP_GLOBAL_HEADER_SIZE;
      for (const f of frames) ends.add((at += PCAP_RECORD_HEADER_SIZE + f.length));
      if (ends.has(cut)) assert.equal(parsePcap(file.subarray(0, cut), 'f').records.length, [...ends].filter((e) => e <= cut).length - 1);
      else {
        assert.throws(() => parsePcap(file.subarray(0, cut), 'f'), (e: unknown) => e instanceof PcapFormatError && e.offset <= cut && e.offset >= 0);
      }
    }),
    { seed: SEED, numRuns: 300 },
  );
  t.pass();
});

test('pcap reader: arbitrary bytes (and arbitrary records after a good header) give records or a PcapFormatError, never anything else', (t) => {
  fc.assert(
    fc.property(fc.boolean(), fc.uint8Array({ maxLength: 400 }), (withHeader, tail) => {
      const b = withHeader ? new Uint8Array([...pcapGlobalHeader(), ...tail]) : tail;
      try {
        const p = parsePcap(b, 'f');
        let total = PCAP_GLOBAL_HEADER_SIZE;
        for (const r of p.records) total += PCAP_RECORD_HEADER_SIZE + r.data.length;
        assert.equal(total, b.length, 'records cover the file exactly');
      } catch (e) {
        assert.ok(e instanceof PcapFormatError, String(e));
      }
    }),
    { seed: SEED, numRuns: 1000 },
  );
  t.pass();
});

const ME = parseMac('00:16:3e:00:00:01')!;
const PEER = parseMac('00:16:3e:00:00:02')!;
const MY_IP = 0x0a000001;

/** Frames close to valid ones with bytes flipped, and raw noise, all addressed to the guest's MAC. */
const frameArb = fc.oneof(
  fc.uint8Array({ maxLength: 120 }).map((b) => new Uint8Array([...ME, ...b])),
  fc
    .tuple(
      fc.constantFrom('arp', 'echo', 'udp'),
      fc.uint8Array({ maxLength: 64 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
      fc.nat({ max: 8 }),
    )
    .map(([kind, data, flips, trim]) => {
      let f: Uint8Array;
      if (kind === 'arp') f = buildArp(1, PEER, PEER, 0x0a000002, new Uint8Array(6), MY_IP, ME);
      else {
        f = buildIpFrame(PEER, kind === 'echo' ? 1 : 17, 0x0a000002, MY_IP, 7, 8 + data.length);
        if (kind === 'echo') writeIcmpEcho(f, 8, 1, 1, data);
        else writeUdp(f, 1, 2, data);
        f.set(ME, 0);
      }
      for (const [at, v] of flips) f[at % f.length] = v;
      return f.subarray(0, Math.max(0, f.length - trim));
    }),
);

test('guest stack: any frame is parsed without throwing, and the stack only ever answers with well-formed frames', (t) => {
  fc.assert(
    fc.property(fc.array(frameArb, { maxLength: 8 }), (frames) => {
      const sent: Uint8Array[] = [];
      const link = { send: (f: Uint8Array) => (sent.push(new Uint8Array(f)), true), onFrame: null as ((f: Uint8Array) => void) | null };
      const stack = new NetStack(link, { name: 'xn0', mac: ME, ip: MY_IP, clock: new VirtualClock() });
      for (const f of frames) {
        const p = parseFrame(f);
        if (p.kind === 'icmp-echo') assert.ok(ETH_HLEN + IP_HLEN + 8 + p.data.length <= f.length);
        link.onFrame!(f);
      }
      assert.equal(stack.counters.rxPackets, frames.length);
      for (const out of sent) {
        const p = parseFrame(out);
        // Answers are ARP (replies, or requests to find where an echo reply goes) and echo replies from our address.
        assert.ok((p.kind === 'arp' && p.senderIp === MY_IP) || (p.kind === 'icmp-echo' && p.type === 0 && p.src === MY_IP), JSON.stringify(p));
      }
    }),
    { seed: SEED, numRuns: 2000 },
  );
  t.pass();
});
