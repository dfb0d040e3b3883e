#!/bin/sh
# vigil procs --verify on a 32-bit process (IA-32 on this x86-64 kernel) whose
# shared library has text relocations (built non-PIC: DT_TEXTREL): the loader
# wrote its code pages, so they differ from the file.  Reported as
# process-code-relocated (low), never as process-code-modified (critical):
# DT_TEXTREL is read from 32-bit ELF objects as from 64-bit ones.
set -eu
. "$(dirname "$0")/lib.sh"
need_root
command -v python3 >/dev/null || skip "python3 missing"
command -v gcc >/dev/null || skip "gcc missing"
printf 'int main(void) { return 0; }\n' >"$T/t.c"
gcc -m32 -o "$T/t" "$T/t.c" 2>/dev/null && "$T/t" ||
	skip "no 32-bit toolchain or IA-32 emulation (apt-get install gcc-multilib)"
cat >"$T/tr.c" <<'C'
int counter = 5;
int get(void) { return counter; }
C
cat >"$T/main.c" <<'C'
#include <stdio.h>
#include <unistd.h>
int get(void);
int main(void) { printf("ready %d\n", get()); fflush(stdout); pause(); return 0; }
C
# non-PIC code in a shared object: the linker warns that it creates DT_TEXTREL
gcc -m32 -shared -fno-PIC -o "$T/libtr.so" "$T/tr.c" 2>"$T/ld.err" || fail "cannot build libtr.so: $(cat "$T/ld.err")"
grep -q TEXTREL "$T/ld.err" || fail "libtr.so has no text relocations: $(cat "$T/ld.err")"
gcc -m32 -o "$T/tr32" "$T/main.c" -L"$T" -ltr -Wl,-rpath,"$T" || fail "cannot build the 32-bit program"
"$T/tr32" >"$T/out" &
P=$!
on_exit "kill $P"
i=0
until grep -q ready "$T/out" 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 100 ] || fail "the 32-bit program did not start: $(cat "$T/out")"
	sleep 0.05
done
"$VIGIL" -q procs --verify --json >"$T/r.json" || [ $? -eq 1 ] || fail "procs --verify failed"
python3 - "$T/r.json" "$P" "$T/libtr.so" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
pid, lib = int(sys.argv[2]), sys.argv[3]
mine = [f for f in r["findings"] if f["pid"] == pid]
if [f for f in mine if f["action"] == "process-code-modified"]:
    sys.exit("a relocated 32-bit library reported as modified code: %s" % json.dumps(mine, indent=1))
rel = [f for f in mine if f["action"] == "process-code-relocated" and f.get("mapping") == lib]
if not rel or rel[0]["severity"] != "low" or rel[0].get("text_relocations") is not True:
    sys.exit("no low process-code-relocated finding for %s: %s" % (lib, json.dumps(mine, indent=1)))
PY
echo "ok: a 32-bit process's relocated text is reported as relocated, not modified"
