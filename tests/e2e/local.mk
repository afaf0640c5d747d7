# tests/e2e: crmsync against the emulator, end to end.
if ENABLE_TESTS
TESTS += tests/e2e/sync.sh tests/e2e/crash.sh tests/e2e/signals.sh tests/e2e/jwt.sh tests/e2e/keyclash.sh tests/e2e/inflight.sh tests/e2e/copyorder.sh tests/e2e/tokens.sh
dist_check_SCRIPTS += tests/e2e/sync.sh tests/e2e/crash.sh tests/e2e/signals.sh tests/e2e/jwt.sh tests/e2e/keyclash.sh tests/e2e/inflight.sh tests/e2e/copyorder.sh tests/e2e/tokens.sh
endif
EXTRA_DIST += tests/e2e/e2e.sh tests/e2e/compare.py
