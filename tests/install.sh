#!/bin/sh
# tests/install.sh - what a third-party plugin author does: install crmsync,
# build a plugin out of the tree with pkg-config against the installed header,
# drop it on the plugin path and see crmsync load it; a copy built for another
# ABI major is refused with both versions named and a non-zero exit. Also:
# every installed plugin exports exactly one symbol, its descriptor.
. "$top_srcdir/tests/lib.sh"
plan 12
root="$T/root"
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL ${MAKE:-make} -s -C "$top_builddir" install DESTDIR="$root" >"$T/install.log" 2>&1
ok $? "make install into a staging directory"
pc=$(find "$root" -name crmsync-plugin.pc | head -1)
ok $([ -n "$pc" ]; echo $?) "crmsync-plugin.pc is installed"
hdr=$(find "$root" -path '*/crmsync/plugin.h' | head -1)
ok $([ -n "$hdr" ]; echo $?) "the plugin header is installed"
bin=$(find "$root" -path '*/bin/crmsync' | head -1)
plugindir=$(find "$root" -type d -path '*/lib/crmsync' | head -1)

cflags=$(PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR="$root" pkg-config --cflags crmsync-plugin)
ok $? "pkg-config --cflags crmsync-plugin works"
mkdir -p "$T/drop" "$T/old"
${CC:-cc} -shared -fPIC $cflags "$top_srcdir/tests/thirdparty/greeter.c" -o "$T/drop/greeter.so" 2>"$T/cc.log"
ok $? "an out-of-tree plugin builds against the installed header only"
CRMSYNC_PLUGIN_PATH="$T/drop" "$bin" plugins >"$T/o" 2>&1
exit_is "crmsync plugins accepts it" 0 $?
contains "it is listed with kind, name, version and ABI" "$T/o" "object   greeter        1.2.3      1.0"
contains "with its unit" "$T/o" "unit greeting__c (Greeting__c, CRM to local)"

${CC:-cc} -shared -fPIC $cflags -DOTHER_MAJOR=2 "$top_srcdir/tests/thirdparty/greeter.c" -o "$T/old/greeter.so"
CRMSYNC_PLUGIN_PATH="$T/old" "$bin" plugins >"$T/o" 2>&1
st=$?
ok $([ $st -ne 0 ]; echo $?) "a plugin for ABI 2 makes crmsync plugins exit non-zero ($st)"
contains "the refusal names both versions" "$T/o" "built for plugin ABI 2.0, but this crmsync speaks ABI 1.0"

# the installed plugins export exactly their descriptor
bad=0; n=0
for so in "$plugindir"/*.so; do
	[ -e "$so" ] || continue
	n=$((n + 1))
	syms=$(nm -D --defined-only "$so" | awk '{print $3}' | grep -v '^_' | sort -u | tr '\n' ' ')
	[ "$syms" = "crmsync_plugin " ] || { echo "# $so exports: $syms"; bad=1; }
done
ok $([ $n -gt 0 ]; echo $?) "plugins are installed in the plugin directory ($n)"
ok $bad "each installed plugin exports only crmsync_plugin"
done_testing
