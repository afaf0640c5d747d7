# bench: backend upsert benchmark (bench/backend_upsert: rows/s and peak RSS of
# upserting lead-sized records through the plugin ABI, pages with checkpoints).
noinst_PROGRAMS += bench/backend_upsert
bench_backend_upsert_SOURCES = bench/backend_upsert.c
bench_backend_upsert_LDADD = core/libcore.la
