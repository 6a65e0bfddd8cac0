#!/usr/bin/env python3
"""Dump the libxl types reachable from libxl_domain_config, in IDL order, as JSON.
usage: dump_idl.py <xen>/tools/libs/light > idl.json"""
import sys, json
sys.path.insert(0, sys.argv[1])
import idl
(builtins, types) = idl.parse(sys.argv[1] + "/libxl_types.idl")

structs = {}   # name -> [fields]
enums = {}     # name -> {"values": [[num, name]], "init": expr|None}
inits = set()

def init_of(f):
    if f.init_val is not None: return f.init_val
    if f.type.init_val is not None: return f.type.init_val
    return None

def tref(ty, ctxname):
    if isinstance(ty, idl.Array):
        return {"kind": "array", "elem": tref(ty.elem_type, ctxname + "[]")}
    if isinstance(ty, idl.KeyedUnion):
        members = []
        for m in ty.fields:
            members.append({"name": m.name, "type": None if m.type is None else tref(m.type, ctxname + "." + m.name)})
        enum = tref(ty.keyvar.type, ctxname)
        return {"kind": "keyedUnion", "keyvar": ty.keyvar.name, "keyEnum": enum["name"], "members": members}
    if isinstance(ty, idl.Enumeration):
        if ty.typename not in enums:
            enums[ty.typename] = {"values": [[v.value, v.valuename.lower()] for v in ty.values], "init": ty.init_val}
        return {"kind": "enum", "name": ty.typename}
    if isinstance(ty, idl.Struct):
        name = ty.typename if ty.typename is not None else ctxname
        if name not in structs:
            structs[name] = None
            structs[name] = fields_of(ty, name)
        return {"kind": "struct", "name": name}
    if isinstance(ty, idl.Aggregate):
        raise Exception("unexpected aggregate %s" % ctxname)
    # builtins / numbers
    tn = ty.typename
    if tn == "bool": return {"kind": "bool"}
    if tn == "char *": return {"kind": "string"}
    if isinstance(ty, idl.Number) or ty.json_gen_fn == "yajl_gen_integer":
        gen = "uint64" if ty.json_gen_fn == "libxl__uint64_gen_json" else "integer"
        return {"kind": "number", "ctype": tn, "gen": gen}
    simple = {"libxl_defbool": "defbool", "libxl_uuid": "uuid", "libxl_mac": "mac", "libxl_bitmap": "bitmap",
              "libxl_cpuid_policy_list": "cpuid_policy_list", "libxl_string_list": "string_list",
              "libxl_key_value_list": "key_value_list", "libxl_hwcap": "hwcap", "libxl_ms_vm_genid": "ms_vm_genid"}
    if tn in simple: return {"kind": simple[tn]}
    raise Exception("unknown builtin %s in %s" % (tn, ctxname))

def fields_of(ty, name):
    out = []
    for f in ty.fields:
        if f.const or f.type.private:
            continue
        fd = {"name": f.name, "type": tref(f.type, name + "." + f.name)}
        iv = init_of(f)
        if iv is not None and not isinstance(f.type, (idl.Aggregate, idl.Array)):
            fd["init"] = iv
            inits.add(iv)
        out.append(fd)
    return out

root = [t for t in types if t.typename == "libxl_domain_config"][0]
tref(root, "libxl_domain_config")
json.dump({"structs": structs, "enums": enums, "inits": sorted(inits)}, sys.stdout, indent=1)
