#!/bin/sh
# Kernel oracle: boot Debian's 6.1 under QEMU with emulated NVDIMMs and compare with pmempolicy.
#
#   tools/kernel-oracle/run.sh --subset ci     one boot, a handful of cases (CI; a few minutes)
#   tools/kernel-oracle/run.sh --subset full   every size x mode x map x align (+ refusals); ~10 min
#
# Options after the subset are passed to oracle.py run (e.g. --no-update, --boot s2G).
# The full run writes tests/data/kernel-oracle/results-full.json and compare-full.txt (commit them).
# Needs root (apt-get) on Debian bookworm; does not use KVM.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
py="$repo/.venv/bin/python"
[ -x "$py" ] || py=python3
subset=ci
if [ "${1:-}" = "--subset" ]; then subset=$2; shift 2; fi
case "$subset" in
ci)   out="$here/.cache/results-ci.json" ;;
full) out="$repo/tests/data/kernel-oracle/results-full.json" ;;
*) echo "usage: $0 --subset ci|full [oracle.py run options]" >&2; exit 2 ;;
esac
mkdir -p "$(dirname "$out")"
start=$(date +%s)
"$py" "$here/oracle.py" run --subset "$subset" --out "$out" "$@"
rc=0
if [ "$subset" = full ]; then
	"$py" "$here/compare.py" "$out" --json "${out%.json}.compare.json" > "$repo/tests/data/kernel-oracle/compare-full.txt" || rc=$?
	cat "$repo/tests/data/kernel-oracle/compare-full.txt"
else
	"$py" "$here/compare.py" "$out" || rc=$?
fi
echo "kernel-oracle: subset $subset took $(( $(date +%s) - start ))s, compare exit $rc" >&2
exit $rc
