/**
 * The PV console page: struct xencons_interface (xen/io/console.h, misc/console.txt).
 * Two byte streams of DIFFERENT sizes: in[1024] (backend → guest: keystrokes) and
 * out[2048] (guest → backend: console output). MASK_XENCONS_IDX(idx, ring) is
 * `idx & (sizeof(ring) - 1)`, so the masks are 1023 for in and 2047 for out. Stream
 * rules and memory order: byte-ring.ts. Unlike xenstore, a bad index has no error word
 * to report it in: the backend (xenconsoled) just stops reading the ring.
 */
import { ByteStreamReader, ByteStreamWriter, type ByteStreamGeometry } from './byte-ring.js';
import { defineStruct, structWindow, type GuestBytes, type StructWindow } from './layout.js';

/** struct xencons_interface: 3088 bytes used of the 4096-byte page. */
export const XENCONS_INTERFACE = defineStruct({
  c: 'struct xencons_interface',
  header: 'xen/io/console.h',
  size: 3088,
  align: 4,
  fields: {
    in: { offset: 0, size: 1024, c: 'in', count: 1024 },
    out: { offset: 1024, size: 2048, c: 'out', count: 2048 },
    inCons: { offset: 3072, size: 4, c: 'in_cons' },
    inProd: { offset: 3076, size: 4, c: 'in_prod' },
    outCons: { offset: 3080, size: 4, c: 'out_cons' },
    outProd: { offset: 3084, size: 4, c: 'out_prod' },
  },
});

const C = XENCONS_INTERFACE.fields;

const IN: ByteStreamGeometry = {
  name: 'console in',
  dataOffset: C.in.offset,
  size: C.in.size,
  consOffset: C.inCons.offset,
  prodOffset: C.inProd.offset,
};
const OUT: ByteStreamGeometry = {
  name: 'console out',
  dataOffset: C.out.offset,
  size: C.out.size,
  consOffset: C.outCons.offset,
  prodOffset: C.outProd.offset,
};

class ConsoleRingPage {
  protected readonly win: StructWindow;
  private readonly words: Uint32Array;

  constructor(mem: GuestBytes, offset: number) {
    this.win = structWindow(mem, offset, XENCONS_INTERFACE.size, XENCONS_INTERFACE.align, 'xencons_interface');
    this.words = new Uint32Array(this.win.buffer, this.win.byteOffset, this.win.byteLength >>> 2);
  }

  private load(off: number): number {
    return Atomics.load(this.words, off >>> 2);
  }
  get inCons(): number {
    return this.load(C.inCons.offset);
  }
  get inProd(): number {
    return this.load(C.inProd.offset);
  }
  get outCons(): number {
    return this.load(C.outCons.offset);
  }
  get outProd(): number {
    return this.load(C.outProd.offset);
  }
}

/** The guest's end (hvc_xen): writes output into out[], reads input from in[]. */
export class ConsoleRingGuest extends ConsoleRingPage {
  private readonly out: ByteStreamWriter;
  private readonly in: ByteStreamReader;

  constructor(mem: GuestBytes, offset = 0) {
    super(mem, offset);
    this.out = new ByteStreamWriter(this.win, OUT);
    this.in = new ByteStreamReader(this.win, IN);
  }

  /** Queue console output; returns how many bytes fit. Notify the console event channel after. */
  write(bytes: Uint8Array): number {
    return this.out.write(bytes);
  }
  outputSpace(): number {
    return this.out.space();
  }
  /** Take up to `max` input bytes (keystrokes). */
  read(max?: number): Uint8Array {
    return this.in.read(max);
  }
  readInto(dst: Uint8Array): number {
    return this.in.readInto(dst);
  }
  inputAvailable(): number {
    return this.in.available();
  }
}

/** The backend's end (xenconsoled): reads output from out[], writes input into in[]. */
export class ConsoleRingBackend extends ConsoleRingPage {
  private readonly out: ByteStreamReader;
  private readonly in: ByteStreamWriter;

  constructor(mem: GuestBytes, offset = 0) {
    super(mem, offset);
    this.out = new ByteStreamReader(this.win, OUT);
    this.in = new ByteStreamWriter(this.win, IN);
  }

  /** Take up to `max` bytes of guest output. Notify after, so a guest waiting for room resumes. */
  read(max?: number): Uint8Array {
    return this.out.read(max);
  }
  readInto(dst: Uint8Array): number {
    return this.out.readInto(dst);
  }
  outputAvailable(): number {
    return this.out.available();
  }
  /** Queue input bytes for the guest; returns how many fit. Notify after. */
  write(bytes: Uint8Array): number {
    return this.in.write(bytes);
  }
  inputSpace(): number {
    return this.in.space();
  }
}
