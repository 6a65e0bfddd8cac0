#!/usr/bin/env bash
# Fetch the Xen 4.17 user-space programs the tests and benchmarks compare against
# (test-xenstore, oxenstored, xenstore-control) without installing them: Debian's
# xen-utils-4.17 package is downloaded and unpacked under .cache/xen-tools.
# Prints the directory holding the binaries. Idempotent.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest=$root/.cache/xen-tools
bin=$dest/usr/lib/xen-4.17/bin
if [ -x "$bin/test-xenstore" ]; then echo "$bin"; exit 0; fi
mkdir -p "$dest"
tmp=$(mktemp -d "$root/.cache/dl.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
if [ "$(id -u)" = 0 ]; then sandbox=(-o APT::Sandbox::User=root); else sandbox=(); fi
(cd "$tmp" && apt-get "${sandbox[@]}" download xen-utils-4.17 >&2)
dpkg -x "$tmp"/xen-utils-4.17_*.deb "$dest"
[ -x "$bin/test-xenstore" ] || { echo "fetch-xen-tools: no test-xenstore in the package" >&2; exit 1; }
echo "$bin"
