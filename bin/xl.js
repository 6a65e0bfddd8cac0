#!/usr/bin/env node
// The xl tool for machines without Xen: link this file as `xl` (or run it) and it takes
// xl's command line, prints xl's output and messages and exits as xl does, running
// xenemu's domain commands (the same code as `xenemu create`, `xenemu list`, ...)
// against the xenemu host of $XENEMU_HOME. It loads no oclif, to start fast.
import { xlMain } from '../dist/src/compat/xl-main.js';

process.exitCode = await xlMain(process.argv[1], process.argv.slice(2));
