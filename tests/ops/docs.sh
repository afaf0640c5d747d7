#!/bin/sh
# tests/ops/docs.sh - the manuals are kept in step with the code, checked by
# parsing the sources (no list of names here): every key of conf.c's known-keys
# table and every key a bundled plugin reads is in crmsync.conf(5) under its
# section; every key crmsync.conf(5) documents exists; every command of
# crmsync --help and every long option is in crmsync(1); the pages format
# without warnings; the systemd unit is sound.
. "$top_srcdir/tests/lib.sh"
plan 10
MAN="$top_srcdir/docs/man"

cat >"$T/keys.py" <<'PY'
import glob, os, re, sys
src, man = sys.argv[1], sys.argv[2]
read = lambda p: open(p, encoding="utf-8").read()
code = {}  # section -> keys the code knows
def add(section, key): code.setdefault(section, set()).add(key)

# the core: conf.c's known-keys table
conf = read(os.path.join(src, "core/conf.c"))
table = conf[conf.index("conf_known[] = {"):]
table = table[:table.index("};")]
for s, k in re.findall(r'\{"(\w+)",\s*"(\w+)",', table):
    add(s, k)
# plugins: literal keys handed to the host's config getters (or to the plugin's
# own wrappers of them); a section's owner is the plugin named like the file
call = re.compile(r'\b(?:config_get(?:_bool|_int)?|objc_unit_get|lead_default)\s*\(([^;]*?)"([a-z_]+)"', re.S)
def keys_of(files):
    out = set()
    for f in files:
        for _, k in call.findall(read(f)):
            out.add(k)
        for arr in re.findall(r'_keys\[\]\s*=\s*\{(.*?)\};', read(f), re.S):
            out.update(re.findall(r'"([a-z_]+)"', arr))
    return out
objdir = os.path.join(src, "plugins/objects")
common = keys_of([os.path.join(objdir, "objcommon.c")])
plugins = [os.path.basename(p)[:-2] for p in glob.glob(os.path.join(objdir, "*.c"))
           if not p.endswith("objcommon.c")]
for p in plugins:
    for k in common | keys_of([os.path.join(objdir, p + ".c")]):
        add(p, k)
for k in keys_of(glob.glob(os.path.join(src, "plugins/backends/*/*.c"))):
    add("storage", k)

# the manual: .SS lines name sections ([a], [b] ...), ".TP/.TQ" + ".B key" entries
doc = {}
sections = []
lines = read(man).splitlines()
for i, l in enumerate(lines):
    if l.startswith(".SS"):
        sections = re.findall(r'\[(\w+)\]', l)
    elif l.startswith(".B ") and i and lines[i - 1] in (".TP", ".TQ") and sections:
        for s in sections:
            doc.setdefault(s, set()).add(l[3:].strip())
bad = 0
for s in sorted(code):
    for k in sorted(code[s] - doc.get(s, set())):
        print(f"undocumented: [{s}] {k}"); bad = 1
for s in sorted(doc):
    for k in sorted(doc[s] - code.get(s, set())):
        print(f"documented but unknown to the code: [{s}] {k}"); bad = 1
n = sum(len(v) for v in code.values())
print(f"{n} keys in {len(code)} sections", file=sys.stderr)
sys.exit(bad)
PY
python3 "$T/keys.py" "$top_srcdir" "$MAN/crmsync.conf.5" >"$T/o" 2>"$T/n"
st=$?; ok $st "every key in the code is in crmsync.conf(5) under its section ($(cat "$T/n"))"
[ $st -eq 0 ] && ok 0 "every key crmsync.conf(5) documents exists in the code" || {
	ok 1 "every key crmsync.conf(5) documents exists in the code"; sed 's/^/# /' "$T/o"; }

# a key added to conf.c's table without a manual entry is caught
mkdir -p "$T/src/core" "$T/src/plugins"
sed 's/^\(static const struct conf_known conf_known\[\] = {\)$/\1\n\t{"sync", "brand_new_key", NULL, "x", false},/' \
	"$top_srcdir/core/conf.c" >"$T/src/core/conf.c"
cp -r "$top_srcdir/plugins/objects" "$top_srcdir/plugins/backends" "$T/src/plugins/"
python3 "$T/keys.py" "$T/src" "$MAN/crmsync.conf.5" >"$T/o" 2>/dev/null
contains "the check notices a key the manual lacks" "$T/o" "undocumented: [sync] brand_new_key"

# commands in --help, long options in main.c's table
python3 - "$top_srcdir/core/main.c" "$MAN/crmsync.1" >"$T/o" 2>&1 <<'PY'
import re, sys
main, man = open(sys.argv[1]).read(), open(sys.argv[2]).read()
usage = main[main.index("usage_text[]"):]
usage = usage[usage.index("Commands:"):usage.index("Options:")]
cmds = re.findall(r'"  ([a-z]+)[ \[]', usage)
opts = re.findall(r'\{"([a-z]+)",\s*(?:no|required)_argument', main)
bad = [f"command {c}" for c in cmds if not re.search(r'^\.B ' + c + r'\b', man, re.M)]
bad += [f"option --{o}" for o in opts if "\\-\\-" + o not in man]
print(f"{len(cmds)} commands, {len(opts)} options")
for b in bad: print("not in crmsync(1):", b)
sys.exit(1 if bad or len(cmds) < 5 else 0)
PY
st=$?; ok $st "every command of crmsync --help and every long option is in crmsync(1) ($(head -1 "$T/o"))"
[ $st -eq 0 ] || sed 's/^/# /' "$T/o"
"$top_builddir/crmsync" --help >"$T/help"
contains "crmsync --help lists backlog" "$T/help" "backlog [--json]"

for p in crmsync.1 crmsync.conf.5 crmsync-plugin.7; do
	LC_ALL=C.UTF-8 groff -man -ww -z "$MAN/$p" >"$T/groff" 2>&1 && [ ! -s "$T/groff" ]
	st=$?; ok $st "$p formats without warnings"
	[ $st -eq 0 ] || sed 's/^/# /' "$T/groff"
done

unit="$top_builddir/dist/systemd/crmsync.service"
ok $(grep -q "^ExecStart=/.*/crmsync -c /.*/crmsync/crmsync.conf run$" "$unit" &&
	grep -q '^ExecReload=/bin/kill -HUP $MAINPID$' "$unit" && grep -q '^Restart=on-failure$' "$unit" &&
	grep -q '^User=crmsync$' "$unit" && grep -q '^NoNewPrivileges=yes$' "$unit" &&
	grep -q '^StateDirectory=crmsync$' "$unit" && ! grep -q '@[a-z]*@' "$unit"; echo $?) \
	"the systemd unit runs crmsync run as its own user, restarts on failure, reloads with SIGHUP"

# make install puts the manuals, the unit and the example config in place
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL ${MAKE:-make} -s -C "$top_builddir" install-man \
	install-dist_docDATA install-systemdsystemunitDATA DESTDIR="$T/root" >"$T/install.log" 2>&1
missing=""
for f in man1/crmsync.1 man5/crmsync.conf.5 man7/crmsync-plugin.7 systemd/system/crmsync.service \
	crmsync.conf.example; do
	[ -n "$(find "$T/root" -path "*/$f")" ] || missing="$missing $f"
done
ok $([ -z "$missing" ]; echo $?) "make install installs the manuals, the systemd unit and the example config${missing:+ (missing:$missing)}"
done_testing
