# core/sf_*: the Salesforce REST client (appended to core/libcore.la)
core_libcore_la_SOURCES += \
	core/sf.h core/sf_internal.h \
	core/sf_http.c core/sf_auth.c core/sf_soql.c core/sf_query.c \
	core/sf_describe.c core/sf_write.c core/sf_composite.c
