# Backend plugins: one fragment per backend.
include plugins/backends/sqlite/local.mk
if HAVE_PQ
include plugins/backends/postgres/local.mk
endif
