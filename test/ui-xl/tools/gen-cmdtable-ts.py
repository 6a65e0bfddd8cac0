#!/usr/bin/env python3
"""cmdtable.json (dump-cmdtable.c) -> src/ui/xl/cmdtable-data.ts"""
import json, sys
d = json.load(open(sys.argv[1]))
out = [sys.argv[2], "", "import type { XlCommandSpec } from './cmdtable.js';", "",
       "/** xl_cmdtable.c's cmd_table[], in table order (x86-64 build, XEN_SCRIPT_DIR=/etc/xen/scripts). */",
       "export const XL_CMD_TABLE: readonly XlCommandSpec[] = ["]
for c in d:
    out.append("  {")
    out.append("    name: %s," % json.dumps(c['name']))
    out.append("    canDryrun: %s," % ('true' if c['canDryrun'] else 'false'))
    out.append("    modifies: %s," % ('true' if c['modifies'] else 'false'))
    out.append("    desc: %s," % json.dumps(c['desc']))
    out.append("    usage: %s," % json.dumps(c['usage']))
    out.append("    options: %s," % ('null' if c['options'] is None else json.dumps(c['options'])))
    out.append("  },")
out.append("];")
print('\n'.join(out))
