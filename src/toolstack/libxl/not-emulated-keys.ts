/**
 * xl.cfg keys xenemu reads but does not emulate (firmware, display, device-model and
 * build flags), set as parse_config_data() (xl_parse.c, 4.17) sets them in the
 * libxl_domain_config that `xl create -n` prints. They change nothing in the emulated
 * domain; they are here so that an ordinary HVM config prints what xl prints. A value
 * xl would refuse (`vga = "foo"`) is left out rather than refused: the config reader
 * already warned of the key.
 *
 * Not covered: spice, gfx_passthru, device_model_override and the stubdomain keys.
 */

import { atoi, parseCLong } from '../../common/c-number.js';
import type { XlPlain } from '../config/index.js';
import type { LibxlDeviceVfb, LibxlDeviceVkb, LibxlDomainBuildInfo, LibxlDomainBuildInfoUHvm, LibxlDomainConfig, LibxlDomainCreateInfo, LibxlSdlInfo, LibxlVncInfo } from './idl.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** xlu_cfg_get_long / get_string / get_defbool on plain settings; undefined when absent or not of that shape. */
class Reader {
  constructor(private readonly settings: ReadonlyMap<string, XlPlain>) {}

  string(key: string): string | undefined {
    const v = this.settings.get(key);
    return typeof v === 'string' ? v : undefined;
  }

  long(key: string): number | undefined {
    const s = this.string(key);
    if (s === undefined) return undefined;
    const r = parseCLong(s);
    return 'value' in r ? r.value : undefined;
  }

  /** A defbool: any number, non-zero is true. */
  bool(key: string): boolean | undefined {
    const l = this.long(key);
    return l === undefined ? undefined : l !== 0;
  }

  /** xlu_cfg_get_list_as_string_list, else the atom (serial, usbdevice). */
  stringOrList(key: string): { list: string[] } | { atom: string } | undefined {
    const v = this.settings.get(key);
    if (typeof v === 'string') return { atom: v };
    if (v !== undefined && v.every((i): i is string => typeof i === 'string')) return { list: [...v] };
    return undefined;
  }
}

/** Set `obj[field]` to `value` unless it is undefined. */
function put<T, K extends keyof T>(obj: T, field: K, value: T[K] | undefined): void {
  if (value !== undefined) obj[field] = value;
}

/** An enum read from its libxl name (libxl_*_from_string is case-insensitive), or its number for the keys that take one. */
function enumValue<E extends string>(text: string | undefined, names: readonly E[], byNumber = false): E | undefined {
  if (text === undefined) return undefined;
  const lower = text.toLowerCase();
  const named = names.find((n) => n === lower);
  if (named !== undefined || !byNumber) return named;
  const r = parseCLong(text);
  return 'value' in r ? names[r.value] : undefined;
}

const TSC_MODES = ['default', 'always_emulate', 'native', 'native_paravirt'] as const;
const TIMER_MODES = ['delay_for_missed_ticks', 'no_delay_for_missed_ticks', 'no_missed_ticks_pending', 'one_missed_tick_pending'] as const;
const VGA_KINDS = { stdvga: 'std', cirrus: 'cirrus', none: 'none', qxl: 'qxl' } as const;

/** parse_top_level_vnc_options and parse_top_level_sdl_options. */
function topLevelDisplay(r: Reader): { vnc: LibxlVncInfo; sdl: LibxlSdlInfo } {
  const vnc: Mutable<LibxlVncInfo> = {};
  put(vnc, 'enable', r.bool('vnc'));
  put(vnc, 'listen', r.string('vnclisten'));
  put(vnc, 'passwd', r.string('vncpasswd'));
  put(vnc, 'display', r.long('vncdisplay'));
  put(vnc, 'findunused', r.bool('vncunused'));
  const sdl: Mutable<LibxlSdlInfo> = {};
  put(sdl, 'enable', r.bool('sdl'));
  put(sdl, 'opengl', r.bool('opengl'));
  put(sdl, 'display', r.string('display'));
  put(sdl, 'xauthority', r.string('xauthority'));
  return { vnc, sdl };
}

/** One vfb= item as xl reads it: KEY=VALUE items up to the first without "=", numbers by atoi. */
function vfbItem(spec: string): LibxlDeviceVfb {
  const vnc: Mutable<LibxlVncInfo> = {};
  const sdl: Mutable<LibxlSdlInfo> = {};
  const vfb: Mutable<LibxlDeviceVfb> = { vnc, sdl };
  for (const raw of spec.split(',').filter((p) => p !== '')) {
    const item = raw.replace(/^ +/, '');
    const eq = item.indexOf('=');
    if (eq < 0) break;
    const [key, value] = [item.slice(0, eq), item.slice(eq + 1)];
    if (key === 'vnc') vnc.enable = atoi(value) !== 0;
    else if (key === 'vnclisten') vnc.listen = value;
    else if (key === 'vncpasswd') vnc.passwd = value;
    else if (key === 'vncdisplay') vnc.display = atoi(value);
    else if (key === 'vncunused') vnc.findunused = atoi(value) !== 0;
    else if (key === 'keymap') vfb.keymap = value;
    else if (key === 'sdl') sdl.enable = atoi(value) !== 0;
    else if (key === 'opengl') sdl.opengl = atoi(value) !== 0;
    else if (key === 'display') sdl.display = value;
    else if (key === 'xauthority') sdl.xauthority = value;
  }
  return vfb;
}

/**
 * The vfb and vkb devices: one pair per vfb= item, or for a PV guest without any, one
 * from the top-level vnc keys when vnc is on (as xl does; an HVM guest's go into b_info).
 */
export function notEmulatedDevices(settings: ReadonlyMap<string, XlPlain>, type: LibxlDomainBuildInfo['type']): Pick<LibxlDomainConfig, 'vfbs' | 'vkbs'> {
  const r = new Reader(settings);
  const list = settings.get('vfb');
  const vfbs: LibxlDeviceVfb[] = [];
  if (list !== undefined && typeof list !== 'string') {
    // xlu_cfg_get_listitem stops at the first item that is not a string.
    for (const item of list) {
      if (typeof item !== 'string') break;
      vfbs.push(vfbItem(item));
    }
  }
  if (type === 'pv' && vfbs.length === 0 && (r.long('vnc') ?? 0) !== 0) {
    const vfb: Mutable<LibxlDeviceVfb> = topLevelDisplay(r);
    put(vfb, 'keymap', r.string('keymap'));
    vfbs.push(vfb);
  }
  if (vfbs.length === 0) return {};
  // ARRAY_EXTEND_INIT numbers each device by its place.
  return { vfbs: vfbs.map((v, devid) => ({ ...v, devid })), vkbs: vfbs.map((_, devid): LibxlDeviceVkb => ({ devid })) };
}

/** Apply the keys to a parsed config's create and build info (type is b.type). */
export function applyNotEmulatedKeys(settings: ReadonlyMap<string, XlPlain>, c: Mutable<LibxlDomainCreateInfo>, b: Mutable<LibxlDomainBuildInfo>): void {
  const r = new Reader(settings);
  put(c, 'hap', r.bool('hap'));
  const shadow = r.long('shadow_memory');
  if (shadow !== undefined) b.shadow_memkb = shadow * 1024;
  put(b, 'disable_migrate', r.bool('nomigrate'));
  put(b, 'tsc_mode', enumValue(r.string('tsc_mode'), TSC_MODES, true));
  put(b, 'rtc_timeoffset', r.long('rtc_timeoffset'));
  put(b, 'localtime', r.bool('localtime'));
  const videoram = r.long('videoram');
  if (videoram !== undefined) b.video_memkb = videoram * 1024;
  put(b, 'acpi', r.bool('acpi'));
  put(b, 'nested_hvm', r.bool('nestedhvm'));
  put(b, 'dm_restrict', r.bool('dm_restrict'));
  const dm = r.string('device_model_version');
  if (dm === 'qemu-xen' || dm === 'qemu-xen-traditional') b.device_model_version = dm === 'qemu-xen' ? 'qemu_xen' : 'qemu_xen_traditional';
  // Refused for PV; its numbers start at delay_for_missed_ticks (0).
  if (b.type !== 'pv') put(b, 'timer_mode', enumValue(r.string('timer_mode'), TIMER_MODES, true));
  if (b.type !== 'hvm') return;

  // The HVM-only keys, into u.hvm (apic into b_info itself).
  const h: Mutable<LibxlDomainBuildInfoUHvm> = { ...(b.u?.hvm ?? {}) };
  put(h, 'firmware', r.string('firmware_override'));
  put(h, 'system_firmware', r.string('bios_path_override'));
  put(h, 'bios', enumValue(r.string('bios'), ['rombios', 'seabios', 'ovmf'] as const));
  for (const key of ['pae', 'acpi_s3', 'acpi_s4', 'acpi_laptop_slate', 'nx', 'hpet', 'vpt_align', 'nographic', 'usb', 'vkb_device', 'xen_platform_pci'] as const) put(h, key, r.bool(key));
  put(b, 'apic', r.bool('apic'));
  const { vnc, sdl } = topLevelDisplay(r);
  if (Object.keys(vnc).length > 0) h.vnc = vnc;
  if (Object.keys(sdl).length > 0) h.sdl = sdl;
  const vga = r.string('vga');
  const stdvga = r.long('stdvga');
  if (vga !== undefined) put(h, 'vga', vga in VGA_KINDS ? { kind: VGA_KINDS[vga as keyof typeof VGA_KINDS] } : undefined);
  else if (stdvga !== undefined) h.vga = { kind: stdvga !== 0 ? 'std' : 'cirrus' };
  put(h, 'hdtype', enumValue(r.string('hdtype'), ['ide', 'ahci'] as const));
  put(h, 'keymap', r.string('keymap'));
  const serial = r.stringOrList('serial');
  if (serial !== undefined) {
    if ('list' in serial) h.serial_list = serial.list;
    else h.serial = serial.atom;
  }
  put(h, 'boot', r.string('boot'));
  put(h, 'usbversion', r.long('usbversion'));
  const usbdevice = r.stringOrList('usbdevice');
  if (usbdevice !== undefined) {
    if ('list' in usbdevice) h.usbdevice_list = usbdevice.list;
    else h.usbdevice = usbdevice.atom;
  }
  put(h, 'soundhw', r.string('soundhw'));
  b.u = { hvm: h };
}
