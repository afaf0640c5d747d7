# plugins/backends/sqlite: the default store, a plugin like any other backend.
# plugins/backends/common holds what it shares with the PostgreSQL backend,
# compiled into each plugin (hidden; each exports only crmsync_plugin).
plugin_LTLIBRARIES += plugins/backends/sqlite/sqlite.la
plugins_backends_sqlite_sqlite_la_SOURCES = \
	plugins/backends/sqlite/sqlite.c \
	plugins/backends/sqlite/sqlite_schema.c \
	plugins/backends/sqlite/sqlite_rows.c \
	plugins/backends/sqlite/sqlite_changes.c \
	plugins/backends/sqlite/sqlite_ckpt.c \
	plugins/backends/sqlite/sqlite_int.h \
	plugins/backends/common/bk_values.c \
	plugins/backends/common/bk_values.h \
	plugins/backends/common/bk_schema.c \
	plugins/backends/common/bk_schema.h
plugins_backends_sqlite_sqlite_la_CFLAGS = $(AM_CFLAGS) $(SQLITE3_CFLAGS)
plugins_backends_sqlite_sqlite_la_LDFLAGS = $(PLUGIN_LINK)
plugins_backends_sqlite_sqlite_la_LIBADD = $(SQLITE3_LIBS) -lm -lpthread
