#!/usr/bin/env bash
# The compatibility tests run the real Xen clients against xenemu: Debian's
# xenstore-utils (xenstore-read, ...), python3-pyxs, tmux for the terminal check,
# and Xen's test-xenstore (unpacked from xen-utils-4.17, see fetch-xen-tools.sh).
# The ABI tests compile C against the Xen headers (libxen-dev, gcc), and the xl
# format tests cross-check against libxenlight's own JSON (libyajl-dev). tshark reads
# the network tests' capture files.
# Installs what is missing when it can (root with apt), else says what to install.
set -euo pipefail
missing=()
command -v xenstore-read >/dev/null || missing+=(xenstore-utils)
[ -d /usr/lib/python3/dist-packages/pyxs ] || missing+=(python3-pyxs)
command -v tmux >/dev/null || missing+=(tmux)
[ -f /usr/include/xen/xen.h ] || missing+=(libxen-dev)
[ -f /usr/include/yajl/yajl_gen.h ] || missing+=(libyajl-dev)
command -v gcc >/dev/null || missing+=(gcc)
command -v tshark >/dev/null || missing+=(tshark)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test-prereqs: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq "${missing[@]}" >&2
  else
    echo "test-prereqs: please install: ${missing[*]} (Debian package names)" >&2
    exit 1
  fi
fi
"$(dirname "$0")/fetch-xen-tools.sh" >/dev/null
