#!/bin/sh
# build.sh BUILDDIR - build the libFuzzer targets with clang (ASan + UBSan +
# libFuzzer), compiling the needed core sources directly: no autotools.
# Produces BUILDDIR/fuzz_soql, fuzz_page, fuzz_conf, fuzz_loader and
# BUILDDIR/fuzzdesc.so (the module fuzz_loader loads).
# Needs clang, libclang-rt-14-dev (or the clang version's compiler-rt) and the
# -dev packages of curl, jansson, inih, ltdl and sqlite3.
set -eu
[ $# -eq 1 ] || { echo "usage: $0 BUILDDIR" >&2; exit 2; }
src=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mkdir -p "$1" && cd "$1" && pwd)
CC=${CLANG:-clang}
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
CFLAGS="-std=gnu11 -g -O1 -fno-omit-frame-pointer -Wall -Wextra -Wno-unused-parameter"
pc() { pkg-config "$@"; }
DEPS_CFLAGS="$(pc --cflags libcurl jansson inih sqlite3 libmicrohttpd 2>/dev/null || pc --cflags libcurl jansson inih sqlite3)"
DEPS_LIBS="$(pc --libs libcurl jansson inih sqlite3 libcrypto) -lltdl -lm -lpthread"
if pc --exists libmicrohttpd; then DEPS_LIBS="$DEPS_LIBS $(pc --libs libmicrohttpd)"; fi

# a config.h with what core/*.c use
cat >"$out/config.h" <<'H'
#define PACKAGE_VERSION "fuzz"
#define VERSION "fuzz"
#define CRMSYNC_PLUGIN_DIR "/nonexistent/crmsync-fuzz"
H
INC="-I$out -I$src/core -I$src/include -I$src/tests/sfemu -I$src/tests/fuzz"

# The core (minus main.c) and the emulator's SOQL compiler, instrumented for
# coverage, in one archive: the linker takes only what a target needs.
mkdir -p "$out/obj"
objs=""
for f in "$src"/core/*.c "$src"/tests/sfemu/soql.c; do
	b=$(basename "$f" .c)
	[ "$b" = main ] && continue
	o="$out/obj/$b.o"
	if [ ! -e "$o" ] || [ "$f" -nt "$o" ]; then
		# shellcheck disable=SC2086
		$CC $CFLAGS $SAN -fsanitize=fuzzer-no-link $INC $DEPS_CFLAGS -c "$f" -o "$o"
	fi
	objs="$objs $o"
done
rm -f "$out/libcore-fuzz.a"
# shellcheck disable=SC2086
ar rcs "$out/libcore-fuzz.a" $objs

for t in soql page conf loader; do
	# shellcheck disable=SC2086
	$CC $CFLAGS $SAN -fsanitize=fuzzer $INC $DEPS_CFLAGS "$src/tests/fuzz/fuzz_$t.c" \
		"$out/libcore-fuzz.a" $DEPS_LIBS -ldl -o "$out/fuzz_$t"
done
# The loader target's module: plain (not instrumented), like a third-party plugin.
$CC -std=gnu11 -g -O1 -fPIC -shared -I"$src/include" "$src/tests/fuzz/fuzzdesc.c" \
	-o "$out/fuzzdesc.so"
echo "built in $out: fuzz_soql fuzz_page fuzz_conf fuzz_loader fuzzdesc.so"
