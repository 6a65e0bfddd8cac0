#!/usr/bin/env node
// The xenstore-* tools for machines without Debian's xenstore-utils: link this file as
// xenstore-read, xenstore-write, ..., xenstore-control (or call it as `xenstore read`)
// and it behaves like the C tools, byte for byte, against $XENSTORED_PATH or else the
// xenemu host. `xenemu env` makes those links for the tools a machine lacks.
import { shimMain } from '../dist/src/compat/shim.js';

process.exitCode = await shimMain(process.argv[1], process.argv.slice(2));
