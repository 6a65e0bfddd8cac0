/**
 * Grant tables, version 1 (xen/common/grant_table.c and public/grant_table.h, Xen 4.17).
 *
 * A domain's grant table is a set of frames Xen allocates and shares with the domain
 * (gnttab_grow_table, share_xen_page_with_guest): the guest writes grant_entry_v1
 * records into them (src/abi/grant-table.ts) to let another domain reach one of its
 * pages, and Xen reads them when that domain asks. Next to the shared frames Xen keeps
 * what the guest must not be able to forge: the *active* entry of each grant in use
 * (who pinned it, which page, how many mappings of each kind) and, per mapping domain,
 * the *maptrack*: the handles of its mappings, which it presents to unmap them.
 *
 * While a grant is in use Xen sets GTF_reading (any use) and GTF_writing (a writable
 * use) in the shared entry's flags, and clears them when the last such use goes; the
 * granter can thus tell that ending access now would pull the page from under the
 * grantee (gnttab_end_foreign_access_ref_v1 refuses while they are set). Every pinned
 * grant holds a reference on the granter's page, so the page is neither zeroed nor
 * freed while mapped (see GuestMemory).
 *
 * Status codes are Xen's, including where a reader might expect another: mapping a
 * read-only grant for writing, or a grant given to another domain, is
 * GNTST_general_error (_set_status_v1: "Attempt to write-pin a r/o grant entry",
 * "Bad flags or dom"); GNTST_permission_denied is the answer of the XSM checks (copying
 * by frame number from another domain, setup_table of a domain one has no rights on).
 */
import { DOMID, GNTCOPY, GNTMAP, GNTST, GTF, GrantTableV1 } from '../abi/index.js';
import type { Domain } from './domain.js';
import { HypervisorError } from './hypervisor.js';
import type { GuestMemory } from './memory.js';
import { XEN_PAGE_SIZE } from '../abi/layout.js';

/** The grant table versions this Xen offers (opt_gnttab_max_version): v1 only. */
export const GNTTAB_MAX_VERSION = 1;
/** Frames a new table starts with (asm/grant_table.h, x86). */
export const INITIAL_NR_GRANT_FRAMES = 1;
/** gnttab_max_frames and gnttab_max_maptrack_frames, Xen's defaults. */
export const DEFAULT_MAX_GRANT_FRAMES = 64;
export const DEFAULT_MAX_MAPTRACK_FRAMES = 1024;
/** Handles per maptrack frame: XEN_PAGE_SIZE / sizeof(struct grant_mapping) (16 bytes). */
export const MAPTRACK_PER_PAGE = XEN_PAGE_SIZE / 16;
/**
 * Each pin counter is 8 bits wide, and Xen refuses a pin once a counter's top bit is
 * set (GNTPIN_incr2oflow_mask): at most 128 uses of one kind at a time.
 */
const PIN_LIMIT = 1 << 7;

/** What one use of a grant counts as (Xen's GNTPIN_hstr/hstw/devr/devw). */
type PinKind = 'hostRead' | 'hostWrite' | 'devRead' | 'devWrite';

/** Xen's active_grant_entry: a grant some domain is using now. */
interface ActiveGrant {
  /** The domain using it (only one may, however many uses it makes). */
  domid: number;
  /** The frame the entry named when it was first pinned, and its page (act->mfn). */
  gfn: number;
  page: Uint8Array;
  pins: Record<PinKind, number>;
}

/** A live mapping in the mapping domain's maptrack (struct grant_mapping). */
interface Mapping {
  flags: number;
  /** The granting domain and its grant ref. */
  dom: number;
  ref: number;
}

/**
 * A grant table as saved. The shared frames' contents (the guest's grant entries, with
 * the GTF_reading/GTF_writing flags as they stand) are carried; their frame numbers are
 * not, as they are the host's: a loaded table gets new ones, as a restored Xen guest
 * does, and asks setup_table again. Active entries and the maptrack are Xen's side.
 *
 * What a save of one domain means for mappings between domains: the save carries this
 * domain's own view (its active grants: who uses them, how often; its maptrack: what it
 * mapped of others), but never another domain's state. A load keeps a mapping only if
 * both ends are present and agree: the mapper's maptrack names the grant and the
 * granter's active entry names the mapper (loading the two domains together keeps it
 * whole). Otherwise the end that was loaded lets go, as if the other had unmapped: an
 * active entry with no mapper left is dropped and its GTF flags cleared, a maptrack
 * handle whose grant is not active for us is freed. Privileged foreign mappings are
 * not saved at all: they belong to the dom0 process that made them.
 */
export interface SavedGrantTable {
  maxFrames: number;
  maxMaptrackFrames: number;
  /** The shared frames' contents, in order (4096 bytes each). */
  frames: Uint8Array[];
  active: Array<{ ref: number; domid: number; gfn: number; pins: Record<PinKind, number> }>;
  /** Handles allocated (a whole number of maptrack frames), the live ones, and the free list in order. */
  maptrackSize: number;
  mappings: Array<Mapping & { handle: number }>;
  freeHandles: number[];
}

/** What the grant code needs from the hypervisor. */
export interface GrantHost {
  /** A domain by id, a dying one included: its table and held pages outlive it until unmapped. */
  grantDomain(domid: number): Domain | undefined;
  /** put_page on one of `d`'s pages (the last put of a dying domain's page finishes it off). */
  putPage(d: Domain, page: Uint8Array): void;
}

/** GNTTABOP_map_grant_ref's IN fields (host_addr is where the answer's page is). */
export interface GnttabMapGrantRef {
  dom: number;
  ref: number;
  /** GNTMAP_* */
  flags: number;
}

/** GNTTABOP_map_grant_ref's OUT fields, and the mapped page when status is GNTST_okay. */
export interface GnttabMapResult {
  status: number;
  handle: number;
  page: Uint8Array | null;
}

/** struct gnttab_copy_ptr. */
export interface GnttabCopyPtr {
  /** The C union u: a grant ref when the op's GNTCOPY_*_gref flag is set, else a gmfn of the caller. */
  refOrGmfn: number;
  domid: number;
  offset: number;
}

/** struct gnttab_copy's IN fields. */
export interface GnttabCopy {
  source: GnttabCopyPtr;
  dest: GnttabCopyPtr;
  len: number;
  /** GNTCOPY_* */
  flags: number;
}

/**
 * The active grants of one table by reference (Xen's active_entry array): a sparse
 * array, not a Map, because a backend mapping and unmapping a page per request churns
 * it, and V8's Map slows down badly under set/delete churn once it holds thousands of
 * entries (a backend keeping persistent grants mapped holds that many).
 */
export class ActiveGrants {
  private readonly byRef: Array<ActiveGrant | undefined> = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(ref: number): ActiveGrant | undefined {
    return this.byRef[ref];
  }

  set(ref: number, act: ActiveGrant): void {
    if (!(Number.isSafeInteger(ref) && ref >= 0)) throw new RangeError(`grant reference ${ref} is not an index`);
    if (this.byRef[ref] === undefined) this.count++;
    this.byRef[ref] = act;
  }

  delete(ref: number): void {
    if (this.byRef[ref] === undefined) return;
    this.byRef[ref] = undefined;
    this.count--;
  }

  /** [ref, grant] pairs in ref order. */
  *[Symbol.iterator](): IterableIterator<[number, ActiveGrant]> {
    for (let ref = 0; ref < this.byRef.length; ref++) {
      const act = this.byRef[ref];
      if (act !== undefined) yield [ref, act];
    }
  }
}

/**
 * One domain's grant table: its shared frames (what it grants) and its maptrack (what
 * it has mapped of others).
 */
export class GrantTable {
  private readonly frames: Uint8Array[] = [];
  private readonly mfns: number[] = [];
  private view: GrantTableV1;
  /** Grants of this domain in use, by ref. */
  readonly active = new ActiveGrants();
  /** This domain's mappings of others' grants, by handle (null: a free handle). */
  private readonly maptrack: Array<Mapping | null> = [];
  /** Free handles in FIFO order, as Xen's per-vCPU free list hands them out. */
  private readonly freeHandles: number[] = [];
  private freeHead = 0;

  constructor(
    readonly maxFrames: number,
    readonly maxMaptrackFrames: number,
    /** A Xen heap frame number for each new grant frame (the mfn a PV guest maps). */
    private readonly allocMfn: () => number,
  ) {
    this.view = new GrantTableV1([]);
    this.grow(INITIAL_NR_GRANT_FRAMES);
  }

  get nrFrames(): number {
    return this.frames.length;
  }

  /** The shared entries, as Xen reads them. */
  get entries(): GrantTableV1 {
    return this.view;
  }

  /** gnttab_grow_table: at least `nrFrames` frames (zeroed), within the maximum. */
  grow(nrFrames: number): boolean {
    if (nrFrames > this.maxFrames) return false;
    if (nrFrames <= this.frames.length) return true;
    while (this.frames.length < nrFrames) {
      this.frames.push(new Uint8Array(XEN_PAGE_SIZE));
      this.mfns.push(this.allocMfn());
    }
    this.view = new GrantTableV1(this.frames);
    return true;
  }

  /** The frame numbers of the first `n` frames (setup_table's frame_list). */
  frameList(n: number): number[] {
    return this.mfns.slice(0, n);
  }

  /** The grant frame Xen shared with the domain as `mfn`, if it is one. */
  frameAt(mfn: number): Uint8Array | undefined {
    const i = this.mfns.indexOf(mfn);
    return i < 0 ? undefined : this.frames[i];
  }

  /**
   * gnttab_seed_entry / xc_dom_set_gnttab_entry: the domain builder pre-fills a reserved
   * entry (the console and xenstore pages) for the domain that serves it. Nothing is
   * written when that is the domain itself.
   */
  seed(ref: number, owner: number, backendDomid: number, gfn: number): void {
    if (backendDomid === owner) return;
    this.view.grantForeignAccess(ref, backendDomid, gfn, false);
  }

  save(): SavedGrantTable {
    return {
      maxFrames: this.maxFrames,
      maxMaptrackFrames: this.maxMaptrackFrames,
      frames: this.frames.map((f) => f.slice()),
      active: [...this.active].map(([ref, a]) => ({ ref, domid: a.domid, gfn: a.gfn, pins: { ...a.pins } })),
      maptrackSize: this.maptrack.length,
      mappings: this.maptrack.flatMap((m, handle) => (m === null ? [] : [{ handle, ...m }])),
      freeHandles: this.freeHandles.slice(this.freeHead),
    };
  }

  /**
   * A table from a save, for a domain whose memory is loaded: each active grant takes
   * its page reference again. Whether the other ends of its mappings are still there
   * is checked afterwards (dropUnmatched), once every domain of the load is in.
   */
  static load(saved: SavedGrantTable, memory: GuestMemory, allocMfn: () => number): GrantTable {
    const gt = new GrantTable(saved.maxFrames, saved.maxMaptrackFrames, allocMfn);
    if (!gt.grow(saved.frames.length)) throw new HypervisorError('EINVAL', `saved grant table has ${saved.frames.length} frames, more than its ${saved.maxFrames}`);
    saved.frames.forEach((f, i) => gt.frames[i]!.set(f));
    for (const a of saved.active) {
      if (!(Number.isInteger(a.ref) && a.ref >= 0 && a.ref < gt.entries.nrEntries)) throw new HypervisorError('EINVAL', `saved active grant ${a.ref} is outside the table's ${gt.entries.nrEntries} entries`);
      if (!memory.inRange(a.gfn)) throw new HypervisorError('EINVAL', `saved active grant ${a.ref} names gfn ${a.gfn}, outside the domain`);
      gt.active.set(a.ref, { domid: a.domid, gfn: a.gfn, page: memory.getPage(a.gfn), pins: { ...a.pins } });
    }
    // A save is untrusted input: its maptrack is no larger than its handles account for
    // (each live or free, up to a frame's worth), nor than its own maximum, so a number
    // in it cannot make the load allocate more than the save's size.
    const { maptrackSize } = saved;
    const accounted = Math.ceil((saved.mappings.length + saved.freeHandles.length) / MAPTRACK_PER_PAGE) * MAPTRACK_PER_PAGE;
    if (!Number.isSafeInteger(maptrackSize) || maptrackSize < 0 || maptrackSize % MAPTRACK_PER_PAGE !== 0) throw new HypervisorError('EINVAL', `saved maptrack of ${maptrackSize} handles is not whole frames`);
    if (maptrackSize > accounted || maptrackSize / MAPTRACK_PER_PAGE > saved.maxMaptrackFrames) {
      throw new HypervisorError('EINVAL', `saved maptrack of ${maptrackSize} handles, but ${saved.mappings.length} live and ${saved.freeHandles.length} free ones, at most ${saved.maxMaptrackFrames} frames`);
    }
    const inMaptrack = (handle: number): number => {
      if (!Number.isInteger(handle) || handle < 0 || handle >= maptrackSize) throw new HypervisorError('EINVAL', `saved maptrack handle ${handle} is outside its ${maptrackSize} handles`);
      return handle;
    };
    for (let h = 0; h < maptrackSize; h++) gt.maptrack.push(null);
    for (const { handle, ...m } of saved.mappings) gt.maptrack[inMaptrack(handle)] = m;
    // One at a time: a spread of a few hundred thousand handles overflows the stack.
    for (const h of saved.freeHandles) gt.freeHandles.push(inMaptrack(h));
    return gt;
  }

  // ------------------------------------------------------------- maptrack

  /**
   * get_maptrack_handle: a free handle, growing the maptrack a frame at a time; -1 when
   * max_maptrack_frames are full (GNTST_no_space). Simplified: Xen keeps its free lists
   * per vCPU, each holding one entry back as its tail sentinel, so it hands out up to
   * one handle per vCPU fewer, in a slightly different order after a growth.
   */
  takeHandle(): number {
    if (this.freeHead === this.freeHandles.length) {
      const limit = this.maptrack.length;
      if (limit / MAPTRACK_PER_PAGE >= this.maxMaptrackFrames) return -1;
      for (let h = limit; h < limit + MAPTRACK_PER_PAGE; h++) {
        this.maptrack.push(null);
        this.freeHandles.push(h);
      }
    }
    const h = this.freeHandles[this.freeHead++]!;
    if (this.freeHead > 1024 && this.freeHead * 2 > this.freeHandles.length) {
      this.freeHandles.splice(0, this.freeHead);
      this.freeHead = 0;
    }
    return h;
  }

  /** put_maptrack_handle: the handle goes to the tail of the free list. */
  private putHandle(handle: number): void {
    this.maptrack[handle] = null;
    this.freeHandles.push(handle);
  }

  /** The mapping a handle tracks, if it is live. */
  mapping(handle: number): Mapping | undefined {
    return Number.isInteger(handle) ? (this.maptrack[handle] ?? undefined) : undefined;
  }

  /** Handles of this domain's live mappings. */
  liveHandles(): number[] {
    const out: number[] = [];
    this.maptrack.forEach((m, h) => m !== null && out.push(h));
    return out;
  }

  track(handle: number, m: Mapping): void {
    this.maptrack[handle] = m;
  }

  untrack(handle: number): void {
    this.putHandle(handle);
  }

  /** nr_maptrack_frames: the maptrack's size in frames (the 'g' debug key prints it). */
  get maptrackFrames(): number {
    return this.maptrack.length / MAPTRACK_PER_PAGE;
  }
}

function pinCount(act: ActiveGrant): number {
  const p = act.pins;
  return p.hostRead + p.hostWrite + p.devRead + p.devWrite;
}

function writePins(act: ActiveGrant): number {
  return act.pins.hostWrite + act.pins.devWrite;
}

/**
 * _set_status_v1: before a first use (or a first writable use), check the entry and set
 * GTF_reading (and GTF_writing) with a compare-and-swap, retried a few times against a
 * guest changing the flags at the same moment (a guest that keeps changing them is
 * misbehaving and gets an error, not a livelock). The type and domid are checked only
 * when the grant is not pinned yet; a mapping also refuses sub-page grants.
 */
function setStatus(t: GrantTableV1, ref: number, pinned: boolean, readonly: boolean, forMap: boolean, ldomid: number): number {
  const mask = GTF.type_mask | (forMap ? GTF.sub_page : 0);
  let seen = t.flags(ref);
  for (let retries = 0; ; retries++) {
    if (!pinned && ((seen & mask) !== GTF.permit_access || t.domid(ref) !== ldomid)) return GNTST.general_error;
    let next = seen | GTF.reading;
    if (!readonly) {
      if (seen & GTF.readonly) return GNTST.general_error;
      next |= GTF.writing;
    }
    const prev = t.compareExchangeFlags(ref, seen, next);
    if (prev === seen) return GNTST.okay;
    if (retries === 4) return GNTST.general_error;
    seen = prev;
  }
}

/**
 * reduce_status_for_pin: clear GTF_reading once nothing uses the grant, and GTF_writing
 * once no writable use is left (gnttab_clear_flags, a compare-and-swap loop).
 */
function reduceStatus(t: GrantTableV1, ref: number, act: ActiveGrant | undefined, readonly: boolean): void {
  const pins = act === undefined ? 0 : pinCount(act);
  let clear = pins === 0 ? GTF.reading : 0;
  if (!readonly && (act === undefined || writePins(act) === 0)) clear |= GTF.writing;
  if (clear === 0) return;
  let seen = t.flags(ref);
  for (;;) {
    const prev = t.compareExchangeFlags(ref, seen, seen & ~clear);
    if (prev === seen) return;
    seen = prev;
  }
}

/**
 * After a load, let go of what has no other end (see SavedGrantTable): `ld`'s active
 * grants whose mapper holds no mapping of them, and `ld`'s mappings of grants not
 * active for it. Copies are never in flight at a save, so every pin is a mapping's.
 */
export function dropUnmatched(host: GrantHost, ld: Domain): void {
  const gt = ld.grantTable!;
  for (const handle of gt.liveHandles()) {
    const m = gt.mapping(handle)!;
    if (host.grantDomain(m.dom)?.grantTable?.active.get(m.ref)?.domid !== ld.domid) gt.untrack(handle);
  }
  for (const [ref, act] of [...gt.active]) {
    const mapper = host.grantDomain(act.domid)?.grantTable;
    const mapped = mapper?.liveHandles().some((h) => {
      const m = mapper.mapping(h)!;
      return m.dom === ld.domid && m.ref === ref;
    });
    if (mapped === true) continue;
    gt.active.delete(ref);
    // reduce_status_for_pin with nothing left: both flags go.
    reduceStatus(gt.entries, ref, undefined, false);
    host.putPage(ld, act.page);
  }
}

/** Drop one use of an active grant; the last one releases the page reference. */
function unpin(host: GrantHost, rd: Domain, ref: number, kinds: readonly PinKind[], readonly: boolean): void {
  const rgt = rd.grantTable!;
  const act = rgt.active.get(ref)!;
  for (const k of kinds) act.pins[k]--;
  // gnttab_mark_dirty: whatever a writable use wrote is in the page now (unmap_common_complete, __release_grant_for_copy).
  if (!readonly) rd.memory.markDirty(act.gfn);
  reduceStatus(rgt.entries, ref, act, readonly);
  if (pinCount(act) === 0) {
    rgt.active.delete(ref);
    host.putPage(rd, act.page);
  }
}

/**
 * Take one use of grant `ref` of `rd` for domain `ldomid` (the shared part of
 * map_grant_ref and acquire_grant_for_copy). Returns the active entry, or a GNTST code.
 */
function pin(rd: Domain, ref: number, ldomid: number, kinds: readonly PinKind[], readonly: boolean, forMap: boolean): ActiveGrant | number {
  const rgt = rd.grantTable!;
  if (!(Number.isInteger(ref) && ref >= 0 && ref < rgt.entries.nrEntries)) return GNTST.bad_gntref;
  let act = rgt.active.get(ref);
  // A grant in use serves one domain, and each counter has its limit.
  if (act !== undefined && (act.domid !== ldomid || kinds.some((k) => act!.pins[k] >= PIN_LIMIT))) return GNTST.general_error;
  // A dying domain's pages are on their way out: nothing new may pin them.
  if (rd.dying) return GNTST.general_error;
  if (act === undefined || (!readonly && writePins(act) === 0)) {
    const rc = setStatus(rgt.entries, ref, act !== undefined, readonly, forMap, ldomid);
    if (rc !== GNTST.okay) return rc;
    const gfn = rgt.entries.frame(ref);
    if (act === undefined) {
      // get_paged_frame: the entry must name a frame of the granter.
      if (!rd.memory.inRange(gfn)) {
        reduceStatus(rgt.entries, ref, undefined, readonly);
        return GNTST.bad_page;
      }
      act = { domid: ldomid, gfn, page: rd.memory.getPage(gfn), pins: { hostRead: 0, hostWrite: 0, devRead: 0, devWrite: 0 } };
      rgt.active.set(ref, act);
    } else if (!forMap && gfn !== act.gfn) {
      // acquire_grant_for_copy: the guest changed the frame under a pinned grant.
      reduceStatus(rgt.entries, ref, act, readonly);
      return GNTST.general_error;
    }
  }
  for (const k of kinds) act.pins[k]++;
  return act;
}

/** A status code by its C name (GNTST_okay, GNTST_general_error, ...), for messages. */
export function gntstName(status: number): string {
  const name = Object.entries(GNTST).find(([, v]) => v === status)?.[0];
  return name === undefined ? `grant status ${status}` : `GNTST_${name}`;
}

/** The counters a mapping with these GNTMAP flags takes (map_grant_ref's pin_incr). */
function mapKinds(flags: number): PinKind[] {
  const ro = (flags & GNTMAP.readonly) !== 0;
  const kinds: PinKind[] = [];
  if (flags & GNTMAP.device_map) kinds.push(ro ? 'devRead' : 'devWrite');
  if (flags & GNTMAP.host_map) kinds.push(ro ? 'hostRead' : 'hostWrite');
  return kinds;
}

/**
 * The frames of `rd` another domain holds a writable grant use of now: what it may
 * write at any moment, so the last round of a migration sends them (their unmap marks
 * them too, but the backend may still hold them when the guest is suspended).
 */
export function writablyGranted(rd: Domain): number[] {
  const gfns: number[] = [];
  for (const [, act] of rd.grantTable!.active) if (writePins(act) > 0) gfns.push(act.gfn);
  return gfns;
}

/** GNTTABOP_map_grant_ref, one op, for domain `ld` (map_grant_ref). */
export function mapGrantRef(host: GrantHost, ld: Domain, op: GnttabMapGrantRef): GnttabMapResult {
  const failed = (status: number): GnttabMapResult => ({ status, handle: -1, page: null });
  const kinds = mapKinds(op.flags);
  if (kinds.length === 0) return failed(GNTST.bad_gntref);
  // "No device mapping in HVM domain".
  if (ld.type !== 'pv' && op.flags & (GNTMAP.device_map | GNTMAP.application_map | GNTMAP.contains_pte)) return failed(GNTST.general_error);
  const rd = host.grantDomain(op.dom);
  if (rd === undefined) return failed(GNTST.bad_domain);
  const lgt = ld.grantTable!;
  const handle = lgt.takeHandle();
  if (handle < 0) return failed(GNTST.no_space);
  const act = pin(rd, op.ref, ld.domid, kinds, (op.flags & GNTMAP.readonly) !== 0, true);
  if (typeof act === 'number') {
    lgt.untrack(handle);
    return failed(act);
  }
  lgt.track(handle, { flags: op.flags, dom: rd.domid, ref: op.ref });
  return { status: GNTST.okay, handle, page: act.page };
}

/** GNTTABOP_unmap_grant_ref, one op: the mapping `handle` tracks goes (unmap_common + _complete). */
export function unmapGrantRef(host: GrantHost, ld: Domain, handle: number): number {
  const lgt = ld.grantTable!;
  const m = lgt.mapping(handle);
  if (m === undefined) return GNTST.bad_handle;
  // The granter outlives the mapping (its held page keeps it as a dying domain).
  const rd = host.grantDomain(m.dom);
  if (rd === undefined) return GNTST.bad_handle;
  lgt.untrack(handle);
  unpin(host, rd, m.ref, mapKinds(m.flags), (m.flags & GNTMAP.readonly) !== 0);
  return GNTST.okay;
}

/** gnttab_release_mappings: a dying domain's mappings of others' grants all go. */
export function releaseMappings(host: GrantHost, ld: Domain): void {
  for (const handle of ld.grantTable!.liveHandles()) unmapGrantRef(host, ld, handle);
}

/**
 * One side of a copy, claimed (gnttab_copy_claim_buf): the page, and the grant to
 * release after the copy (`rd` null for a frame of the caller). Plain data, no closure:
 * netback makes one or two of these per frame.
 */
interface CopyBuf {
  page: Uint8Array;
  rd: Domain | null;
  ref: number;
  kinds: readonly PinKind[];
  readonly: boolean;
}

const HOST_READ: readonly PinKind[] = ['hostRead'];
const HOST_WRITE: readonly PinKind[] = ['hostWrite'];

function claim(ld: Domain, host: GrantHost, ptr: GnttabCopyPtr, byGref: boolean, readonly: boolean): CopyBuf | number {
  // gnttab_copy_lock_domain: only DOMID_SELF may name a frame directly.
  if (ptr.domid !== DOMID.SELF && !byGref) return GNTST.permission_denied;
  const d = ptr.domid === DOMID.SELF ? ld : host.grantDomain(ptr.domid);
  if (d === undefined) return GNTST.bad_domain;
  const kinds = readonly ? HOST_READ : HOST_WRITE;
  if (byGref) {
    const act = pin(d, ptr.refOrGmfn, ld.domid, kinds, readonly, false);
    if (typeof act === 'number') return act;
    return { page: act.page, rd: d, ref: ptr.refOrGmfn, kinds, readonly };
  }
  if (!d.memory.inRange(ptr.refOrGmfn)) return GNTST.bad_page;
  // A copy into the caller's own frame is a write of the caller's (gnttab_copy_release_buf marks it).
  if (!readonly) d.memory.markDirty(ptr.refOrGmfn);
  return { page: d.memory.page(ptr.refOrGmfn), rd: null, ref: 0, kinds, readonly };
}

function inPage(offset: number, len: number): boolean {
  return Number.isInteger(offset) && offset >= 0 && Number.isInteger(len) && len > 0 && offset + len <= XEN_PAGE_SIZE;
}

function release(host: GrantHost, b: CopyBuf): void {
  if (b.rd !== null) unpin(host, b.rd, b.ref, b.kinds, b.readonly);
}

/**
 * GNTTABOP_copy, one op, for domain `ld` (gnttab_copy_one): source and destination are
 * each a grant ref of another domain (GNTCOPY_source_gref / GNTCOPY_dest_gref) or a
 * frame of the caller; the grants are pinned for the copy (reading for the source,
 * writing for the destination) and released after it.
 */
export function copy(host: GrantHost, ld: Domain, op: GnttabCopy): number {
  if (op.len === 0) return GNTST.okay;
  const src = claim(ld, host, op.source, (op.flags & GNTCOPY.source_gref) !== 0, true);
  if (typeof src === 'number') return src;
  const dest = claim(ld, host, op.dest, (op.flags & GNTCOPY.dest_gref) !== 0, false);
  if (typeof dest === 'number') {
    release(host, src);
    return dest;
  }
  let rc: number = GNTST.okay;
  // gnttab_copy_buf: both ranges stay inside their page (the fields are uint16_t in C).
  if (!inPage(op.source.offset, op.len) || !inPage(op.dest.offset, op.len)) rc = GNTST.bad_copy_arg;
  else dest.page.set(src.page.subarray(op.source.offset, op.source.offset + op.len), op.dest.offset);
  release(host, src);
  release(host, dest);
  return rc;
}
