#!/bin/sh
# tests/cli.sh - the command line as a user meets it: help, version, bad usage,
# config errors with file:line and exit 2, init, secrets never echoed.
. "$top_srcdir/tests/lib.sh"
CS="$top_builddir/crmsync"
export CRMSYNC_PLUGIN_PATH=""
plan 21

"$CS" --help >"$T/o" 2>&1; exit_is "--help exits 0" 0 $?
contains "--help lists the commands" "$T/o" "sync --once"
"$CS" --version >"$T/o" 2>&1; exit_is "--version exits 0" 0 $?
contains "--version names the plugin ABI" "$T/o" "plugin ABI 1.0"

"$CS" >"$T/o" 2>&1; exit_is "no command is a usage error (2)" 2 $?
"$CS" frobnicate >"$T/o" 2>&1; exit_is "unknown command exits 2" 2 $?
contains "unknown command is named" "$T/o" "unknown command 'frobnicate'"
"$CS" --bogus plugins >"$T/o" 2>&1; exit_is "unknown option exits 2" 2 $?
"$CS" push lead >"$T/o" 2>&1; exit_is "push without an id exits 2" 2 $?

cat >"$T/bad.conf" <<'CONF'
[salesforce]
login_url = http://127.0.0.1:1
usernme = sync@example.com
CONF
"$CS" -c "$T/bad.conf" plugins >"$T/o" 2>&1; exit_is "misspelt key exits 2" 2 $?
contains "misspelt key names file:line and the key" "$T/o" "$T/bad.conf:3: unknown key 'usernme' in section [salesforce] (did you mean 'username'?)"

"$CS" -c "$T/missing.conf" plugins >"$T/o" 2>&1; exit_is "missing explicit config exits 2" 2 $?
contains "missing config file is named" "$T/o" "$T/missing.conf: cannot read the config file"

"$CS" -o log.level=loud plugins >"$T/o" 2>&1; exit_is "bad log level exits 2" 2 $?
contains "bad -o value names the argument" "$T/o" "-o log.level=loud: log.level = 'loud': expected error, warn, info or debug"

cd "$T" || exit 1
"$CS" init >"$T/o" 2>&1; exit_is "init writes a sample config" 0 $?
perm=$(stat -c %a "$T/crmsync.conf")
ok $([ "$perm" = 600 ]; echo $?) "the sample config is readable by its owner only ($perm)"
"$CS" init >"$T/o" 2>&1; exit_is "init refuses to overwrite" 1 $?
"$CS" -c "$T/crmsync.conf" plugins >"$T/o" 2>&1; exit_is "the sample config is valid" 0 $?

printf '[salesforce]\npassword = hunter2-secret\n' >"$T/open.conf"
chmod 644 "$T/open.conf"
"$CS" -c "$T/open.conf" plugins >"$T/o" 2>&1
contains "a world-readable config with a secret is warned about" "$T/o" "readable by other users"
lacks "the secret itself is never printed" "$T/o" "hunter2-secret"
done_testing
