# bench/: benchmarks (figures, never timed tests)
include bench/sf.mk
include bench/backend.mk
# bench/floor: the transfer floor (plain libcurl, no processing).
noinst_PROGRAMS += bench/floor
bench_floor_SOURCES = bench/floor.c
bench_floor_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS)
bench_floor_LDADD = $(CURL_LIBS)
EXTRA_DIST += bench/run bench/crm_edits.py bench/RESULTS.md
