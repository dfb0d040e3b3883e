#!/bin/sh
# fake-lime.sh OUT.ko: an ELF object whose .modinfo says name=lime and a
# vermagic of the running kernel (vigil's checks pass) but which no kernel
# loads (no module struct): finit_module refuses it, the case the LiME file
# mode's tests need on a machine where no module can load anyway.
set -eu
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fake-lime.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
printf 'int vigil_not_a_module;\n' | cc -c -x c - -o "$tmp/m.o"
printf 'name=lime\000vermagic=%s SMP mod_unload \000' "$(uname -r)" >"$tmp/modinfo"
objcopy --add-section .modinfo="$tmp/modinfo" --set-section-flags .modinfo=alloc,readonly "$tmp/m.o" "$1"
