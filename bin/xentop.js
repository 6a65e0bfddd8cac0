#!/usr/bin/env node
// The xentop tool for machines without Xen: link this file as `xentop` (or run it) and it
// takes xentop's command line and shows the xenemu host of $XENEMU_HOME: xentop's batch
// text byte for byte with -b, xenemu's dashboard on a terminal. It loads no oclif.
import { xentopShim } from '../dist/src/compat/xentop-main.js';

process.exitCode = await xentopShim(process.argv[1], process.argv.slice(2));
