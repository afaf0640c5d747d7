# tests/hostile: hostile input (config and CLI matrices, CRM values that try to
# inject, break encodings or overflow) and secrets (logs, errors, TLS, http://).
if ENABLE_TESTS
TESTS += tests/hostile/values.sh
dist_check_SCRIPTS += tests/hostile/values.sh
endif
EXTRA_DIST += tests/hostile/values.py
if ENABLE_TESTS
TESTS += tests/hostile/config.sh
dist_check_SCRIPTS += tests/hostile/config.sh
endif
if ENABLE_TESTS
TESTS += tests/hostile/secrets.sh
dist_check_SCRIPTS += tests/hostile/secrets.sh
endif
