import test from 'ava';
import {
  GNTTAB,
  GRANT_ENTRIES_PER_FRAME_V1,
  GrantTableV1,
  GTF,
  MAX_GUEST_CMDLINE,
  SIF,
  START_INFO_MAGIC_X86_64,
  StartInfoView,
} from '../../src/abi/index.js';

test('start_info: what the domain builder writes is where a PV kernel reads it', (t) => {
  const mem = new Uint8Array(4096).fill(0xee);
  const si = new StartInfoView(mem);
  si.magic = START_INFO_MAGIC_X86_64;
  si.nrPages = 262144n;
  si.sharedInfo = 0x12345000n;
  si.flags = SIF.PRIVILEGED | SIF.INITDOMAIN;
  si.storeMfn = 0xfeffen;
  si.storeEvtchn = 1;
  si.consoleMfn = 0xfefffn;
  si.consoleEvtchn = 2;
  si.ptBase = 0xffffffff80000000n;
  si.nrPtFrames = 6n;
  si.mfnList = 0xffffffff80400000n;
  si.modStart = 0n;
  si.modLen = 0n;
  si.cmdLine = 'root=/dev/xvda1 console=hvc0';
  si.firstP2mPfn = 7n;
  si.nrP2mFrames = 8n;

  // Raw offsets as gcc measured them (struct start_info, x86_64, 1168 bytes).
  const dv = new DataView(mem.buffer);
  t.is(new TextDecoder().decode(mem.subarray(0, 14)), 'xen-3.0-x86_64');
  t.true(mem.subarray(14, 32).every((b) => b === 0), 'magic NUL-padded to 32 bytes');
  t.is(dv.getBigUint64(32, true), 262144n);
  t.is(dv.getBigUint64(40, true), 0x12345000n);
  t.is(dv.getUint32(48, true), 3);
  t.is(dv.getBigUint64(56, true), 0xfeffen);
  t.is(dv.getUint32(64, true), 1);
  t.is(dv.getBigUint64(72, true), 0xfefffn);
  t.is(dv.getUint32(80, true), 2);
  t.is(dv.getBigUint64(88, true), 0xffffffff80000000n);
  t.is(dv.getBigUint64(96, true), 6n);
  t.is(dv.getBigUint64(104, true), 0xffffffff80400000n);
  const cmd = 'root=/dev/xvda1 console=hvc0';
  t.is(new TextDecoder().decode(mem.subarray(128, 128 + cmd.length)), cmd);
  t.is(mem[128 + cmd.length], 0);
  t.is(mem[128 + 1023], 0, 'the whole cmd_line is NUL-padded');
  t.is(dv.getBigUint64(1152, true), 7n);
  t.is(dv.getBigUint64(1160, true), 8n);
  t.is(mem[1168], 0xee, 'nothing written past the struct');

  t.is(si.magic, START_INFO_MAGIC_X86_64);
  t.is(si.cmdLine, 'root=/dev/xvda1 console=hvc0');
  t.is(si.storeEvtchn, 1);
  t.is(si.consoleMfn, 0xfefffn);
});

test('start_info: dom0 console info aliases console.domU', (t) => {
  const si = new StartInfoView(new Uint8Array(4096));
  si.consoleInfoOff = 0x100;
  si.consoleInfoSize = 0x20;
  t.is(si.consoleMfn, (0x20n << 32n) | 0x100n);
});

test('start_info: a command line must leave room for its NUL', (t) => {
  const si = new StartInfoView(new Uint8Array(4096));
  si.cmdLine = 'x'.repeat(MAX_GUEST_CMDLINE - 1);
  t.is(si.cmdLine.length, 1023);
  t.throws(() => (si.cmdLine = 'x'.repeat(MAX_GUEST_CMDLINE)), { instanceOf: RangeError, message: /cmd_line/ });
  t.throws(() => (si.magic = 'x'.repeat(32)), { instanceOf: RangeError });
  si.cmdLine = 'short';
  t.is(si.cmdLine, 'short', 'no stale tail of the longer line survives');
});

test('grant table v1: entry ref is 8 bytes at (ref % 512) * 8 of frame ref / 512', (t) => {
  const frames = [new Uint8Array(4096), new Uint8Array(4096)];
  const gt = new GrantTableV1(frames);
  t.is(GRANT_ENTRIES_PER_FRAME_V1, 512);
  t.is(gt.nrEntries, 1024);
  gt.grantForeignAccess(GNTTAB.RESERVED_XENSTORE, 0, 0xfeffe, false);
  gt.grantForeignAccess(513, 5, 0x1234, true);
  const dv0 = new DataView(frames[0]!.buffer);
  const dv1 = new DataView(frames[1]!.buffer);
  t.is(dv0.getUint16(8, true), GTF.permit_access);
  t.is(dv0.getUint16(10, true), 0);
  t.is(dv0.getUint32(12, true), 0xfeffe);
  t.is(dv1.getUint16(8, true), GTF.permit_access | GTF.readonly);
  t.is(dv1.getUint16(10, true), 5);
  t.is(dv1.getUint32(12, true), 0x1234);
  t.deepEqual(gt.entry(513), { flags: GTF.permit_access | GTF.readonly, domid: 5, frame: 0x1234 });
  t.throws(() => gt.flags(1024), { instanceOf: RangeError });
});

test('grant table v1: revoke succeeds only when neither reading nor writing is set', (t) => {
  const gt = new GrantTableV1([new Uint8Array(4096)]);
  gt.grantForeignAccess(8, 3, 77, false);
  // The grantee maps it (Xen's cmpxchg adds GTF_writing).
  const flags = gt.flags(8);
  t.is(gt.compareExchangeFlags(8, flags, flags | GTF.writing), flags, 'swap happened');
  t.false(gt.endForeignAccess(8), 'in use: revoke refused');
  t.is(gt.flags(8), GTF.permit_access | GTF.writing, 'and nothing changed');
  // A stale expected value does not swap.
  t.is(gt.compareExchangeFlags(8, flags, 0), flags | GTF.writing);
  t.is(gt.flags(8), GTF.permit_access | GTF.writing);
  // Unmapped: Xen clears the bit; now revoke works and leaves flags 0.
  gt.compareExchangeFlags(8, flags | GTF.writing, flags);
  t.true(gt.endForeignAccess(8));
  t.is(gt.flags(8), 0);
  gt.setFlags(9, GTF.permit_access | GTF.reading);
  t.false(gt.endForeignAccess(9), 'GTF_reading blocks it too');
});

test('grant table v1 frames may be separate buffers but must be whole aligned pages', (t) => {
  t.throws(() => new GrantTableV1([new Uint8Array(2048)]), { message: /4096-byte page/ });
  t.throws(() => new GrantTableV1([new Uint8Array(new ArrayBuffer(8192), 4, 4096)]), { message: /aligned/ });
  const shared = new GrantTableV1([new Uint8Array(new SharedArrayBuffer(4096))]);
  shared.grantForeignAccess(0, 1, 2, false);
  t.true(shared.endForeignAccess(0));
});
