# tests/faults: the fault matrix (HTTP faults, per-record errors, expiry,
# schema changes) and local faults (disk full, read-only, locked database),
# end to end against sfemu. See tests/RELIABILITY.md.
if ENABLE_TESTS
TESTS += tests/faults/http.sh tests/faults/records.sh tests/faults/local.sh tests/faults/schema.sh tests/faults/refused.sh tests/faults/archive.sh tests/faults/wide.sh
dist_check_SCRIPTS += tests/faults/http.sh tests/faults/records.sh tests/faults/local.sh tests/faults/schema.sh tests/faults/refused.sh tests/faults/archive.sh tests/faults/wide.sh
endif
EXTRA_DIST += tests/faults/faults.sh tests/faults/schema.py
