import test from 'ava';
import fc from 'fast-check';
import {
  AbiError,
  checkRegisterVcpuInfo,
  EVTCHN_2L_NR_CHANNELS,
  lowestSetBit,
  pvclockSystemTime,
  SharedInfoView,
  VcpuInfoView,
  VcpuRegisterVcpuInfoView,
  XEN_PVCLOCK,
  XenBitmap,
} from '../../src/abi/index.js';

// Raw offsets below are the measured ones from ../shared/reference/layouts.md §7,
// written out on purpose: these tests check the views against the page bytes, not
// against the tables the views use.

const page = (shared = false) => new Uint8Array(shared ? new SharedArrayBuffer(4096) : new ArrayBuffer(4096));

for (const shared of [false, true]) {
  const kind = shared ? 'SharedArrayBuffer (Atomics)' : 'ArrayBuffer';

  test(`${kind}: port p is bit p&7 of byte 2048 + p/8 (pending) and 2560 + p/8 (mask)`, (t) => {
    const mem = page(shared);
    const si = new SharedInfoView(mem);
    for (const port of [1, 7, 8, 31, 32, 63, 64, 65, 1000, 4095]) {
      mem.fill(0);
      t.false(si.testAndSetPending(port));
      t.is(mem[2048 + (port >> 3)], 1 << (port & 7), `pending ${port}`);
      t.is(mem.reduce((a, b) => a + (b ? 1 : 0), 0), 1, 'exactly one byte changed');
      t.false(si.testAndSetMask(port));
      t.is(mem[2560 + (port >> 3)], 1 << (port & 7), `mask ${port}`);
    }
  });

  test(`${kind}: test-and-set / test-and-clear return the previous bit`, (t) => {
    const si = new SharedInfoView(page(shared));
    t.false(si.testPending(77));
    t.false(si.testAndSetPending(77));
    t.true(si.testAndSetPending(77), 'already pending');
    t.true(si.testPending(77));
    t.true(si.testAndClearPending(77));
    t.false(si.testAndClearPending(77));
    si.testAndSetPending(78);
    si.clearPending(78);
    t.false(si.testPending(78));

    t.false(si.isMasked(5));
    t.false(si.testAndSetMask(5));
    t.true(si.testAndSetMask(5));
    t.true(si.isMasked(5));
    t.true(si.testAndClearMask(5));
    t.false(si.testAndClearMask(5));
    t.false(si.isMasked(5));
  });

  test(`${kind}: bits 31/32 and 63/64 land in the right lanes and 64-bit words`, (t) => {
    const si = new SharedInfoView(page(shared));
    for (const p of [0, 31, 32, 63, 64, 4095]) si.testAndSetPending(p);
    t.is(si.pendingWord(0), (1n << 0n) | (1n << 31n) | (1n << 32n) | (1n << 63n));
    t.is(si.pendingWord(1), 1n);
    t.is(si.pendingWord(63), 1n << 63n);
    t.is(si.pendingLane(0), 0x80000001);
    t.is(si.pendingLane(1), 0x80000001);
    t.is(si.pendingLane(2), 1);
    t.is(si.pendingLane(127), 0x80000000);
    t.is(si.maskWord(0), 0n);
    si.testAndSetMask(4095);
    t.is(si.maskLane(127), 0x80000000);
  });

  test(`${kind}: vcpu_info slot n is at n*64 and its fields at the measured offsets`, (t) => {
    const mem = page(shared);
    const si = new SharedInfoView(mem);
    const dv = new DataView(mem.buffer);
    for (const n of [0, 1, 31]) {
      const v = si.vcpuInfo(n);
      v.evtchnUpcallPending = 1;
      v.evtchnUpcallMask = 1;
      t.false(v.testAndSetSel(63));
      v.archCr2 = 0x1122334455667788n;
      v.time.systemTime = 42n;
      t.is(mem[n * 64], 1);
      t.is(mem[n * 64 + 1], 1);
      t.is(dv.getBigUint64(n * 64 + 8, true), 1n << 63n);
      t.is(dv.getBigUint64(n * 64 + 16, true), 0x1122334455667788n);
      t.is(dv.getBigUint64(n * 64 + 32 + 16, true), 42n);
    }
    t.throws(() => si.vcpuInfo(32), { instanceOf: RangeError, message: /VCPUOP_register_vcpu_info/ });
  });

  test(`${kind}: port numbers outside 0..4095 are refused, not silently ignored`, (t) => {
    const si = new SharedInfoView(page(shared));
    for (const bad of [-1, 4096, 1.5, Number.NaN, 2 ** 32]) {
      t.throws(() => si.testAndSetPending(bad), { instanceOf: RangeError });
      t.throws(() => si.isMasked(bad), { instanceOf: RangeError });
    }
    t.is(EVTCHN_2L_NR_CHANNELS, 4096);
  });

  test(`${kind}: evtchn_pending_sel bit ops and exchange-to-zero`, (t) => {
    const mem = page(shared);
    const v = new VcpuInfoView(mem, 0);
    t.false(v.testAndSetSel(0));
    t.true(v.testAndSetSel(0));
    t.false(v.testAndSetSel(40));
    t.true(v.testSel(40));
    t.is(v.evtchnPendingSel, 1n | (1n << 40n));
    t.is(v.exchangeSelHalf(0), 1);
    t.is(v.exchangeSelHalf(1), 1 << 8);
    t.is(v.evtchnPendingSel, 0n);
    v.evtchnPendingSel = (1n << 64n) - 1n;
    t.is(v.exchangeSel(), (1n << 64n) - 1n);
    t.is(v.evtchnPendingSel, 0n);
    v.testAndSetSel(3);
    v.clearSel(3);
    t.false(v.testSel(3));
    t.throws(() => v.testAndSetSel(64), { instanceOf: RangeError });
  });

  test(`${kind}: testAndSetUpcallPending reports only the 0 -> 1 transition`, (t) => {
    const v = new VcpuInfoView(page(shared));
    t.false(v.testAndSetUpcallPending());
    t.true(v.testAndSetUpcallPending());
    t.is(v.evtchnUpcallPending, 1);
    v.evtchnUpcallPending = 0;
    t.false(v.testAndSetUpcallPending());
  });
}

test('the 2-level raise and unmask rules compose from the view operations without losing an event', (t) => {
  // event_2l.c, as README §4 states it; the hypervisor will own this logic, the test
  // shows the primitives are sufficient for it.
  const si = new SharedInfoView(page());
  const v = si.vcpuInfo(0);
  let kicks = 0;
  const raise = (p: number) => {
    if (si.testAndSetPending(p)) return;
    if (!si.isMasked(p) && !v.testAndSetSel(p >> 6) && !v.testAndSetUpcallPending()) kicks++;
  };
  const unmask = (p: number) => {
    if (si.testAndClearMask(p) && si.testPending(p) && !v.testAndSetSel(p >> 6) && !v.testAndSetUpcallPending()) kicks++;
  };
  si.testAndSetMask(70);
  raise(70);
  t.is(kicks, 0, 'masked port: pending but no upcall');
  t.true(si.testPending(70));
  t.is(v.evtchnPendingSel, 0n);
  unmask(70);
  t.is(kicks, 1, 'unmask re-raises');
  t.is(v.evtchnPendingSel, 1n << 1n);
  raise(71);
  t.is(kicks, 1, 'upcall already pending: no second kick');

  // Guest scan: clear upcall_pending, xchg sel, pending & ~mask per word.
  v.evtchnUpcallPending = 0;
  const seen: number[] = [];
  for (const half of [0, 1] as const) {
    let sel = v.exchangeSelHalf(half);
    while (sel !== 0) {
      const w = half * 32 + lowestSetBit(sel);
      sel &= sel - 1;
      for (const lane of [2 * w, 2 * w + 1]) {
        let active = si.pendingLane(lane) & ~si.maskLane(lane);
        while (active !== 0) {
          const port = lane * 32 + lowestSetBit(active);
          active &= active - 1;
          si.clearPending(port);
          seen.push(port);
        }
      }
    }
  }
  t.deepEqual(seen, [70, 71]);
  t.is(si.pendingWord(1), 0n);
});

test('lowestSetBit is ffs-1 for every single bit and for mixed lanes', (t) => {
  for (let b = 0; b < 32; b++) t.is(lowestSetBit((1 << b) >>> 0), b);
  t.is(lowestSetBit(0xffffffff), 0);
  t.is(lowestSetBit(0x80000000), 31);
  t.is(lowestSetBit(0b1011000), 3);
});

test('a bitmap keeps any set of bits exactly (fast-check against a Set)', (t) => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 4095 })), { maxLength: 300 }), (ops) => {
      const bm = new XenBitmap(new ArrayBuffer(512), 0, 4096);
      const model = new Set<number>();
      for (const [on, bit] of ops) {
        const was = on ? bm.testAndSet(bit) : bm.testAndClear(bit);
        if (was !== model.has(bit)) return false;
        if (on) model.add(bit);
        else model.delete(bit);
      }
      for (let w = 0; w < 64; w++) {
        let expect = 0n;
        for (const b of model) if (b >> 6 === w) expect |= 1n << BigInt(b & 63);
        if (bm.word(w) !== expect) return false;
      }
      return true;
    }),
  );
  t.pass();
});

test('a vcpu_info can sit at any 8-aligned offset with room for 64 bytes, and nowhere else', (t) => {
  const mem = page();
  const v = new VcpuInfoView(mem, 4096 - 64);
  v.testAndSetSel(1);
  t.is(new DataView(mem.buffer).getBigUint64(4096 - 64 + 8, true), 2n);
  t.throws(() => new VcpuInfoView(mem, 4096 - 56), { message: /do not fit/ });
  t.throws(() => new VcpuInfoView(mem, 12), { message: /8-byte aligned/ });
  // The alignment is of the absolute address: a page view that starts off by 4 is refused too.
  t.throws(() => new VcpuInfoView(new Uint8Array(new ArrayBuffer(8192), 4, 4096), 0), { message: /aligned/ });
});

test('VCPUOP_register_vcpu_info argument: layout and validation', (t) => {
  const mem = page();
  const arg = new VcpuRegisterVcpuInfoView(mem, 16);
  arg.mfn = 0x123456789n;
  arg.offset = 0x40;
  arg.rsvd = 0;
  const dv = new DataView(mem.buffer);
  t.is(dv.getBigUint64(16, true), 0x123456789n);
  t.is(dv.getUint32(24, true), 0x40);
  t.is(checkRegisterVcpuInfo(arg), undefined);
  t.is(checkRegisterVcpuInfo({ offset: 0 }), undefined);
  t.is(checkRegisterVcpuInfo({ offset: 4096 - 64 }), undefined);
  t.is(checkRegisterVcpuInfo({ offset: 4096 - 56 }), 'EINVAL', 'does not fit');
  t.is(checkRegisterVcpuInfo({ offset: 4 }), 'EINVAL', 'not 8-aligned');
  t.is(checkRegisterVcpuInfo({ offset: 0xffffffff }), 'EINVAL');
});

test('copyFrom moves a whole vcpu_info (what Xen does on registration)', (t) => {
  const si = new SharedInfoView(page());
  const old = si.vcpuInfo(3);
  old.testAndSetSel(9);
  old.evtchnUpcallMask = 1;
  old.time.publish({ tscTimestamp: 5n, systemTime: 6n, tscToSystemMul: 7, tscShift: -1, flags: 0 });
  const moved = new VcpuInfoView(page(), 128);
  moved.copyFrom(old);
  t.is(moved.evtchnPendingSel, 1n << 9n);
  t.is(moved.evtchnUpcallMask, 1);
  t.deepEqual(moved.time.snapshot(), old.time.snapshot());
});

test('vcpu_time_info: publish bumps version twice, fields at the measured offsets', (t) => {
  const mem = page();
  const v = new VcpuInfoView(mem);
  const dv = new DataView(mem.buffer);
  v.time.publish({ tscTimestamp: 1000n, systemTime: 2000n, tscToSystemMul: 0x80000000, tscShift: -2, flags: XEN_PVCLOCK.TSC_STABLE_BIT });
  t.is(dv.getUint32(32, true), 2, 'version even after one update');
  t.is(dv.getBigUint64(40, true), 1000n);
  t.is(dv.getBigUint64(48, true), 2000n);
  t.is(dv.getUint32(56, true), 0x80000000);
  t.is(dv.getInt8(60), -2);
  t.is(dv.getUint8(61), 1);
  const s = v.time.snapshot();
  t.is(s.version, 2);
  t.is(s.tscShift, -2);
});

test('pvclock: system_time + (((tsc - tsc_timestamp) << shift) * mul) >> 32, in u64', (t) => {
  // mul = 2^31 halves the TSC delta; shift 1 doubles it back.
  const base = { tscTimestamp: 1000n, systemTime: 5_000_000n, tscToSystemMul: 0x80000000, tscShift: 1 };
  t.is(pvclockSystemTime(base, 3000n), 5_000_000n + 2000n);
  t.is(pvclockSystemTime({ ...base, tscShift: -1 }, 3000n), 5_000_000n + 500n);
  // A 3 GHz TSC: mul = (10^9 << 32) / 3e9 with shift 0 gives ns = tsc / 3.
  const mul = Number((10n ** 9n << 32n) / 3_000_000_000n);
  t.is(pvclockSystemTime({ tscTimestamp: 0n, systemTime: 0n, tscToSystemMul: mul, tscShift: 0 }, 3_000_000_000n), 999_999_999n);
  // The TSC may wrap past tsc_timestamp: the delta is taken modulo 2^64.
  t.is(pvclockSystemTime({ ...base, tscTimestamp: (1n << 64n) - 1000n, tscShift: 1 }, 1000n), 5_000_000n + 2000n);
});

test('wallclock: version protocol and 64-bit seconds across wc_sec/wc_sec_hi', (t) => {
  const mem = page();
  const si = new SharedInfoView(mem);
  const dv = new DataView(mem.buffer);
  si.setWallClock(0x1_2345_6789n, 999);
  t.is(dv.getUint32(3072, true), 2);
  t.is(dv.getUint32(3076, true), 0x23456789);
  t.is(dv.getUint32(3080, true), 999);
  t.is(dv.getUint32(3084, true), 1);
  t.deepEqual(si.wallClock(), { sec: 0x1_2345_6789n, nsec: 999 });
});

test('arch_shared_info fields are u64 at 3088..3128', (t) => {
  const mem = page();
  const si = new SharedInfoView(mem);
  const dv = new DataView(mem.buffer);
  si.maxPfn = 0x40000n;
  si.pfnToMfnFrameListList = (1n << 64n) - 1n;
  si.nmiReason = 3n;
  si.p2mCr3 = 4n;
  si.p2mVaddr = 0xffffc90000000000n;
  si.p2mGeneration = 6n;
  t.deepEqual(
    [3088, 3096, 3104, 3112, 3120, 3128].map((o) => dv.getBigUint64(o, true)),
    [0x40000n, (1n << 64n) - 1n, 3n, 4n, 0xffffc90000000000n, 6n],
  );
});

test('a version left odd is a TORN_READ error, not a hang', (t) => {
  const mem = page();
  const si = new SharedInfoView(mem);
  const v = si.vcpuInfo(0);
  new DataView(mem.buffer).setUint32(32, 3, true); // vcpu_time_info.version odd
  t.throws(() => v.time.snapshot(), { instanceOf: AbiError, message: /never settled/ });
  new DataView(mem.buffer).setUint32(3072, 1, true); // wc_version odd
  t.throws(() => si.wallClock(), { instanceOf: AbiError });
});
