#!/usr/bin/env python3
"""idl.json (dump_idl.py) + inits.tsv (inits.c) -> TypeScript schema and interfaces."""
import json, sys
d = json.load(open(sys.argv[1]))
inits = {}
for line in open(sys.argv[2]):
    ct, expr, val = line.rstrip('\n').split('\t')
    inits[(ct, expr)] = val
header = sys.argv[3]

def tsname(n):
    n = n.replace('[]', '')
    parts = []
    for seg in n.replace('.', '_').split('_'):
        if seg: parts.append(seg[0].upper() + seg[1:])
    return ''.join(parts)

enums = d['enums']
out = []
w = out.append
w(header)
w("")
w("/** The C integer types of the IDL's numbers (libxl_domid is uint32_t, libxl_devid is int). */")
w("export type CType = 'int' | 'uint8_t' | 'uint16_t' | 'uint32_t' | 'uint64_t';")
w("")
w("/** How one field is stored and printed; mirrors the idl.py classes gentypes.py walks. */")
w("export type IdlType =")
w("  | { readonly kind: 'number'; readonly ctype: CType; readonly gen: 'integer' | 'uint64' }")
w("  | { readonly kind: 'bool' | 'string' | 'defbool' | 'uuid' | 'mac' | 'bitmap' | 'cpuid_policy_list' | 'string_list' | 'key_value_list' | 'ms_vm_genid' }")
w("  | { readonly kind: 'enum'; readonly name: string }")
w("  | { readonly kind: 'struct'; readonly name: string }")
w("  | { readonly kind: 'array'; readonly elem: IdlType }")
w("  | { readonly kind: 'keyedUnion'; readonly keyvar: string; readonly keyEnum: string; readonly members: readonly { readonly name: string; readonly type: IdlType | null }[] };")
w("")
w("/** A field of a struct, in IDL order (which is the JSON key order). `init` is the init_val")
w(" * libxl compares against (a decimal integer for numbers, a value name for enums). */")
w("export interface IdlField { readonly name: string; readonly type: IdlType; readonly init?: string }")
w("")
def tjs(t):
    k = t['kind']
    if k == 'number':
        ct = {'libxl_domid': 'uint32_t', 'libxl_devid': 'int'}.get(t['ctype'], t['ctype'])
        assert ct in ('int', 'uint8_t', 'uint16_t', 'uint32_t', 'uint64_t'), ct
        return "{ kind: 'number', ctype: '%s', gen: '%s' }" % (ct, t['gen'])
    if k in ('enum', 'struct'): return "{ kind: '%s', name: '%s' }" % (k, t['name'])
    if k == 'array': return "{ kind: 'array', elem: %s }" % tjs(t['elem'])
    if k == 'keyedUnion':
        ms = ', '.join("{ name: '%s', type: %s }" % (m['name'], 'null' if m['type'] is None else tjs(m['type'])) for m in t['members'])
        return "{ kind: 'keyedUnion', keyvar: '%s', keyEnum: '%s', members: [%s] }" % (t['keyvar'], t['keyEnum'], ms)
    return "{ kind: '%s' }" % k

def enum_init_name(ename, expr):
    val = int(inits[('long long', expr)])
    for num, name in enums[ename]['values']:
        if num == val:
            return name
    raise Exception("cannot resolve %s for %s" % (expr, ename))

w("export const LIBXL_ENUMS: Readonly<Record<string, { readonly values: Readonly<Record<string, number>>; readonly init?: string }>> = {")
for en, e in enums.items():
    vals = ', '.join("%s: %d" % (json.dumps(n), v) for v, n in e['values'])
    init = '' if e['init'] is None else ", init: '%s'" % enum_init_name(en, e['init'])
    w("  %s: { values: { %s }%s }," % (en, vals, init))
w("};")
w("")
w("export const LIBXL_STRUCTS: Readonly<Record<string, readonly IdlField[]>> = {")
for sn, fields in d['structs'].items():
    w("  '%s': [" % sn)
    for f in fields:
        t = f['type']
        init = ''
        if 'init' in f:
            if t['kind'] == 'number':
                init = ", init: '%s'" % inits[(t['ctype'], f['init'])]
            elif t['kind'] == 'enum':
                init = ", init: '%s'" % enum_init_name(t['name'], f['init'])
            else:
                raise Exception("init on %s" % t['kind'])
        w("    { name: '%s', type: %s%s }," % (f['name'], tjs(t), init))
    w("  ],")
w("};")
w("")
# TypeScript interfaces
for en, e in enums.items():
    w("export type %s = %s;" % (tsname(en), ' | '.join("'%s'" % n for v, n in e['values'])))
w("")
def tstype(t):
    k = t['kind']
    if k == 'number': return 'number | bigint' if t['gen'] == 'uint64' else 'number'
    if k == 'bool' or k == 'defbool': return 'boolean'
    if k in ('string', 'uuid', 'mac'): return 'string'
    if k == 'bitmap': return 'readonly number[]'
    if k == 'string_list': return 'readonly string[]'
    if k == 'key_value_list': return 'readonly (readonly [string, string | null])[]'
    if k == 'ms_vm_genid': return 'readonly number[]'
    if k == 'cpuid_policy_list': return 'never'
    if k in ('enum', 'struct'): return tsname(t['name'])
    if k == 'array': return 'readonly (%s)[]' % tstype(t['elem'])
    raise Exception(k)
for sn, fields in d['structs'].items():
    w("export interface %s {" % tsname(sn))
    for f in fields:
        t = f['type']
        if t['kind'] == 'keyedUnion':
            w("  %s?: %s;" % (t['keyvar'], tsname(t['keyEnum'])))
            ms = ' '.join("%s?: %s;" % (m['name'], 'Record<string, never>' if m['type'] is None else tstype(m['type'])) for m in t['members'])
            w("  %s?: { %s };" % (f['name'], ms))
        else:
            w("  %s?: %s;" % (f['name'], tstype(t)))
    w("}")
print('\n'.join(out))
