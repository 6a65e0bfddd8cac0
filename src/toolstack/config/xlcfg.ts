/**
 * From xl.cfg settings to the schema's input object, key by key as
 * parse_config_data() in tools/xl/xl_parse.c reads them: a key that wants a number
 * takes the atom's text through strtol base 0 (so `memory = "512"` and
 * `memory = 0x200` are both 512), a boolean is a number (0 false, anything else
 * true), lists must be lists.
 *
 * Keys xl knows but xenemu does not emulate produce a warning with their place;
 * keys xl does not know at all are errors (xl itself ignores them silently).
 */

import { ConfigError, didYouMean, type ConfigIssue, type ConfigPath } from './errors.js';
import { parseCLong } from '../../common/c-number.js';
import { XENEMU_KEYS } from './schema.js';
import { SpotMap } from './spots.js';
import type { ResolvedSetting, XlSpot, XlString, XlValue } from './xlcfg-syntax.js';

type XlType = 'string' | 'long' | 'bool' | 'list' | 'string-or-list' | 'bool-or-list' | 'args';

interface Mapped {
  path: ConfigPath;
  type: XlType;
}

function keys(type: XlType, names: string): Record<string, Mapped> {
  return Object.fromEntries(names.split(' ').map((k) => [k, { path: [k], type }]));
}

/** xl.cfg keys xenemu reads, with the type xl reads them as. */
export const XL_MAPPED_KEYS: Readonly<Record<string, Mapped>> = Object.freeze({
  ...keys('string', 'name type uuid on_poweroff on_reboot on_watchdog on_crash on_soft_reset kernel ramdisk cmdline root extra bootloader'),
  ...keys('long', 'memory maxmem vcpus maxvcpus cpu_weight cap max_event_channels max_grant_frames max_maptrack_frames'),
  ...keys('bool', 'driver_domain'),
  ...keys('string-or-list', 'cpus cpus_soft'),
  ...keys('bool-or-list', 'viridian'),
  ...keys('args', 'bootloader_args'),
  ...keys('list', 'disk vif'),
  'xenemu.hz': { path: ['xenemu', 'hz'], type: 'long' },
  'xenemu.callback': { path: ['xenemu', 'callback'], type: 'string' },
  'xenemu.events': { path: ['xenemu', 'events'], type: 'list' },
  'xenemu.faults': { path: ['xenemu', 'faults'], type: 'list' },
});

/**
 * Every other key xl 4.17 reads (xl_parse.c, xl.cfg(5)). xenemu reports them as not
 * emulated instead of failing, so an existing config can be tried as it is.
 */
export const XL_NOT_EMULATED_KEYS: ReadonlySet<string> = new Set(
  `acpi acpi_firmware acpi_laptop_slate acpi_s3 acpi_s4 altp2m altp2mhvm apic bios bios_path_override boot
   channel cpuid device_model device_model_args device_model_args_hvm device_model_args_pv device_model_override
   device_model_stubdomain_override device_model_stubdomain_seclabel device_model_user device_model_version device_tree
   display dm_restrict dtdev e820_host extratime firmware firmware_override gfx_passthru gic_version hap hdtype hpet
   init_seclabel iomem ioports irqs keymap latency localtime max_grant_version mca_caps mmio_hole ms_vm_genid
   msr_relaxed nestedhvm nographic nomigrate nx oos opengl p9 pae passthrough pci pci_msitranslate pci_permissive
   pci_power_mgmt pci_seize period pool pvcalls pvshim pvshim_cmdline pvshim_extra pvshim_path rdm rdm_mem_boundary
   rtc_timeoffset sdl seclabel serial shadow_memory slice smbios_firmware soundhw spice spice_clipboard_sharing
   spice_image_compression spice_streaming_video spiceagent_mouse spicedisable_ticketing spicehost spicepasswd spiceport
   spicetls_port spiceusbredirection spicevdagent stdvga stubdomain_cmdline stubdomain_kernel stubdomain_memory
   stubdomain_ramdisk tee timer_mode tsc_mode usb usbctrl usbdev usbdevice usbversion vdispl
   vendor_device vfb vga videoram vif2 vkb vkb_device vmtrace_buf_kb vnc vncdisplay vnclisten vncpasswd vncunused
   vncviewer vnuma vpmu vpt_align vsnd vtpm vuart xauthority xen_platform_pci xend_suspend_evtchn_compat`
    .split(/\s+/)
    .filter((k) => k !== ''),
);

/** Every key an xl.cfg may hold, for "did you mean". */
export const ALL_XL_KEYS: readonly string[] = [...Object.keys(XL_MAPPED_KEYS), 'builder', ...XL_NOT_EMULATED_KEYS];

export interface MappedXl {
  raw: Record<string, unknown>;
  spots: SpotMap;
  warnings: ConfigIssue[];
}

export function getPath(obj: Record<string, unknown>, path: ConfigPath): unknown {
  let o: unknown = obj;
  for (const p of path) {
    if (typeof o !== 'object' || o === null) return undefined;
    o = (o as Record<string, unknown>)[String(p)];
  }
  return o;
}

export function spotOf(v: XlSpot): XlSpot {
  const s: XlSpot = { file: v.file, line: v.line, column: v.column };
  if (v.contentColumn !== undefined) s.contentColumn = v.contentColumn;
  return s;
}

function issueAt(spot: XlSpot, key: string, message: string): ConfigIssue {
  return { file: spot.file, line: spot.line, column: spot.column, key, message };
}

export function setPath(obj: Record<string, unknown>, path: ConfigPath, value: unknown): void {
  let o = obj;
  for (const p of path.slice(0, -1)) {
    const k = String(p);
    if (typeof o[k] !== 'object' || o[k] === null || Array.isArray(o[k])) o[k] = {};
    o = o[k] as Record<string, unknown>;
  }
  o[String(path[path.length - 1])] = value;
}

/**
 * Convert one resolved setting to the JS value the schema expects, recording where
 * each part came from. Pushes an issue and returns undefined when the value has the
 * wrong shape for its key.
 */
function convert(s: ResolvedSetting, m: Mapped, spots: SpotMap, issues: ConfigIssue[], warnings: ConfigIssue[]): unknown {
  const v = s.value;
  const key = s.name;
  const scalar = (x: XlValue): x is XlString => x.kind === 'string';
  const notList = (what: string): undefined => {
    issues.push(issueAt(v, key, `must be ${what}, not a [list]`));
    return undefined;
  };
  const number = (x: XlString): number | undefined => {
    const r = parseCLong(x.value);
    if ('problem' in r) {
      issues.push(issueAt(x, key, `${r.problem}: ${key} wants a number${x.number ? '' : ', e.g. ' + key + ' = 512'}`));
      return undefined;
    }
    return r.value;
  };
  const stringList = (list: XlValue[], base: ConfigPath): string[] | undefined => {
    const out: string[] = [];
    for (const [i, item] of list.entries()) {
      if (!scalar(item)) {
        issues.push(issueAt(item, `${key}[${i}]`, 'must be a "string", not a nested [list]'));
        return undefined;
      }
      spots.set([...base, i], spotOf(item));
      out.push(item.value);
    }
    return out;
  };
  if ((m.type === 'long' || m.type === 'bool') && s.op === '+=') {
    issues.push(issueAt(s.spot, key, `"+=" cannot be used with numbers; write ${key} = VALUE`));
    return undefined;
  }
  spots.set(m.path, spotOf(v));
  switch (m.type) {
    case 'string':
      return scalar(v) ? v.value : notList('a single "string"');
    case 'long':
      return scalar(v) ? number(v) : notList('a number');
    case 'bool': {
      if (!scalar(v)) return notList('1 or 0');
      const n = number(v);
      return n === undefined ? undefined : n !== 0;
    }
    case 'list':
      if (scalar(v)) {
        issues.push(issueAt(v, key, `must be a [list], e.g. ${key} = [ ${JSON.stringify(v.value)} ]`));
        return undefined;
      }
      return stringList(v.items, m.path);
    case 'string-or-list':
      return scalar(v) ? v.value : stringList(v.items, m.path);
    case 'bool-or-list': {
      if (!scalar(v)) return stringList(v.items, m.path);
      const n = number(v);
      return n === undefined ? undefined : n !== 0;
    }
    case 'args':
      if (scalar(v)) {
        warnings.push(issueAt(v, key, `giving ${key} as a string is deprecated: write a list, e.g. [ "--quiet" ] (split at blanks)`));
        return v.value.split(/[ \t\n]+/).filter((a) => a !== '');
      }
      return stringList(v.items, m.path);
  }
}

/** The `builder` key (deprecated since Xen 4.10): "generic" is pv, "hvm" is hvm. */
export function applyBuilder(
  b: ResolvedSetting | undefined,
  raw: Record<string, unknown>,
  spots: SpotMap,
  issues: ConfigIssue[],
  warnings: ConfigIssue[],
): void {
  if (!b) return;
  if (b.value.kind !== 'string') {
    issues.push(issueAt(b.value, 'builder', 'must be a single "string", not a [list]'));
    return;
  }
  const given = b.value.value;
  const type = given === 'generic' ? 'pv' : given === 'hvm' ? 'hvm' : undefined;
  if (type === undefined) {
    issues.push(issueAt(b.value, 'builder', `invalid builder "${given}": it is "generic" (pv) or "hvm"; better, write type = "pv", "pvh" or "hvm"`));
    return;
  }
  if (raw.type !== undefined && raw.type !== type) {
    issues.push(issueAt(b.value, 'builder', `contradicting "builder" and "type" options: builder = "${given}" is type "${type}", but type = "${String(raw.type)}"`));
    return;
  }
  warnings.push(issueAt(b.spot, 'builder', `builder is deprecated: write type = "${type}"`));
  if (raw.type === undefined) {
    raw.type = type;
    spots.set(['type'], spotOf(b.value));
  }
}

/**
 * Map one resolved setting: returns where it goes and its value, or undefined (with
 * a warning for a key xenemu does not emulate or xl does not know, an issue for an
 * unknown xenemu.* key or a value of the wrong shape). `builder` is handled by the caller.
 */
export function mapXlSetting(
  s: ResolvedSetting,
  spots: SpotMap,
  issues: ConfigIssue[],
  warnings: ConfigIssue[],
): { path: ConfigPath; value: unknown } | undefined {
  const m = XL_MAPPED_KEYS[s.name];
  if (m) {
    const value = convert(s, m, spots, issues, warnings);
    return value === undefined ? undefined : { path: m.path, value };
  }
  if (XL_NOT_EMULATED_KEYS.has(s.name)) {
    warnings.push(issueAt(s.spot, s.name, `${s.name} is not emulated by xenemu and was ignored`));
  } else if (s.name.startsWith('xenemu.')) {
    const hit = didYouMean(s.name.slice('xenemu.'.length), XENEMU_KEYS);
    issues.push(
      issueAt(s.spot, s.name, `unknown xenemu key${hit ? ` (did you mean "xenemu.${hit}"?)` : ''}: the xenemu keys are ${XENEMU_KEYS.map((k) => `xenemu.${k}`).join(', ')}`),
    );
  } else {
    // xl reads the keys it knows and ignores the rest (parse_config_data never lists the
    // file's keys), so configs carrying xm-era leftovers (dhcp, netmask, hostname) work;
    // xenemu takes them too, but says so, as such a key is often a typo.
    const hit = didYouMean(s.name, ALL_XL_KEYS);
    warnings.push(issueAt(s.spot, s.name, `unknown key${hit ? ` (did you mean "${hit}"?)` : ''}: xl.cfg(5) has no such key; ignored, as xl ignores it`));
  }
  return undefined;
}

/** Map resolved xl.cfg settings onto the schema's input object. Throws ConfigError for values of the wrong shape. */
export function mapXlSettings(settings: Map<string, ResolvedSetting>): MappedXl {
  const raw: Record<string, unknown> = {};
  const spots = new SpotMap();
  const issues: ConfigIssue[] = [];
  const warnings: ConfigIssue[] = [];
  for (const s of settings.values()) {
    if (s.name === 'builder') continue;
    const r = mapXlSetting(s, spots, issues, warnings);
    if (r) setPath(raw, r.path, r.value);
  }
  applyBuilder(settings.get('builder'), raw, spots, issues, warnings);
  if (issues.length > 0) throw new ConfigError(issues);
  return { raw, spots, warnings };
}
