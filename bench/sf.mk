# bench: client paging benchmark (bench/sf_page: records/s and peak RSS of
# paging every Lead of an sfemu through the Salesforce client).
if ENABLE_TESTS
noinst_PROGRAMS += bench/sf_page
bench_sf_page_SOURCES = bench/sf_page.c tests/sf/emu.c tests/sf/emu.h
bench_sf_page_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS)
bench_sf_page_LDADD = core/libcore.la $(CURL_LIBS)
endif
