#!/bin/sh
# Kernel oracle: boot Debian's kernel under QEMU with emulated NVDIMMs and compare with pmempolicy.
#
#   tools/kernel-oracle/run.sh --subset ci [--kernel 6.1|6.12]     one boot (CI; a few minutes)
#   tools/kernel-oracle/run.sh --subset full [--kernel 6.1|6.12]   every case type; ~15-20 min
#
# Options after these are passed to oracle.py run (e.g. --no-update, --boot s2G).
# The full run writes tests/data/kernel-oracle/results-full[-6.12].json and
# compare-full[-6.12].txt (commit them). Needs root (apt-get) on Debian bookworm; TCG
# (KORACLE_TRY_KVM=1 tries KVM first, falling back to TCG).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
py="$repo/.venv/bin/python"
[ -x "$py" ] || py=python3
subset=ci kernel=6.1
while [ $# -gt 0 ]; do
	case "$1" in
	--subset) subset=$2; shift 2 ;;
	--kernel) kernel=$2; shift 2 ;;
	*) break ;;
	esac
done
# 6.1 keeps the file names it always had; other kernels carry their version
sfx=""; [ "$kernel" = 6.1 ] || sfx="-$kernel"
data="$repo/tests/data/kernel-oracle"
case "$subset" in
ci)   out="$here/.cache/results-ci$sfx.json" ;;
full) out="$data/results-full$sfx.json" ;;
*) echo "usage: $0 --subset ci|full [--kernel 6.1|6.12] [oracle.py run options]" >&2; exit 2 ;;
esac
mkdir -p "$(dirname "$out")"
start=$(date +%s)
"$py" "$here/oracle.py" run --subset "$subset" --kernel "$kernel" --out "$out" "$@"
rc=0
if [ "$subset" = full ]; then
	"$py" "$here/compare.py" "$out" --json "${out%.json}.compare.json" > "$data/compare-full$sfx.txt" || rc=$?
	cat "$data/compare-full$sfx.txt"
else
	"$py" "$here/compare.py" "$out" || rc=$?
fi
echo "kernel-oracle: subset $subset on $kernel took $(( $(date +%s) - start ))s, compare exit $rc" >&2
exit $rc
