/*
 * test_abi.c - pins the size and every member offset of every ABI struct in
 * include/crmsync/plugin.h (x86_64 / LP64). A failure here means a change broke
 * plugins built against ABI 1.0: append members instead, or bump the major
 * and record it in the header's change list.
 */
#include <crmsync/plugin.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

struct pin {
	const char *what;
	size_t found, expected;
};

#define PIN_SIZE(type, n) {"sizeof(" #type ")", sizeof(type), n}
#define PIN_OFF(type, member, n) {"offsetof(" #type ", " #member ")", offsetof(type, member), n}

static const struct pin pins[] = {
	PIN_SIZE(crmsync_value, 24),
	PIN_OFF(crmsync_value, type, 0),
	PIN_OFF(crmsync_value, len, 8),
	PIN_OFF(crmsync_value, u, 16),
	PIN_SIZE(crmsync_field_desc, 48),
	PIN_OFF(crmsync_field_desc, name, 0),
	PIN_OFF(crmsync_field_desc, type, 8),
	PIN_OFF(crmsync_field_desc, crm_type, 16),
	PIN_OFF(crmsync_field_desc, length, 24),
	PIN_OFF(crmsync_field_desc, precision, 28),
	PIN_OFF(crmsync_field_desc, scale, 32),
	PIN_OFF(crmsync_field_desc, flags, 36),
	PIN_OFF(crmsync_field_desc, reference_to, 40),
	PIN_SIZE(crmsync_unit_schema, 48),
	PIN_OFF(crmsync_unit_schema, size, 0),
	PIN_OFF(crmsync_unit_schema, unit, 8),
	PIN_OFF(crmsync_unit_schema, sobject, 16),
	PIN_OFF(crmsync_unit_schema, direction, 24),
	PIN_OFF(crmsync_unit_schema, nfields, 32),
	PIN_OFF(crmsync_unit_schema, fields, 40),
	PIN_SIZE(crmsync_host, 216),
	PIN_OFF(crmsync_host, size, 0),
	PIN_OFF(crmsync_host, abi_major, 8),
	PIN_OFF(crmsync_host, abi_minor, 12),
	PIN_OFF(crmsync_host, host_version, 16),
	PIN_OFF(crmsync_host, log, 24),
	PIN_OFF(crmsync_host, log_enabled, 32),
	PIN_OFF(crmsync_host, alloc, 40),
	PIN_OFF(crmsync_host, realloc, 48),
	PIN_OFF(crmsync_host, free, 56),
	PIN_OFF(crmsync_host, strdup, 64),
	PIN_OFF(crmsync_host, config_get, 72),
	PIN_OFF(crmsync_host, config_get_bool, 80),
	PIN_OFF(crmsync_host, config_get_int, 88),
	PIN_OFF(crmsync_host, config_get_global, 96),
	PIN_OFF(crmsync_host, record_new, 104),
	PIN_OFF(crmsync_host, record_free, 112),
	PIN_OFF(crmsync_host, record_clear, 120),
	PIN_OFF(crmsync_host, record_get, 128),
	PIN_OFF(crmsync_host, record_set, 136),
	PIN_OFF(crmsync_host, record_unset, 144),
	PIN_OFF(crmsync_host, record_count, 152),
	PIN_OFF(crmsync_host, record_at, 160),
	PIN_OFF(crmsync_host, now_ms, 168),
	PIN_OFF(crmsync_host, format_datetime, 176),
	PIN_OFF(crmsync_host, parse_datetime, 184),
	PIN_OFF(crmsync_host, error_set, 192),
	PIN_OFF(crmsync_host, error_message, 200),
	PIN_OFF(crmsync_host, config_where, 208),
	PIN_SIZE(crmsync_unit_decl, 104),
	PIN_OFF(crmsync_unit_decl, size, 0),
	PIN_OFF(crmsync_unit_decl, name, 8),
	PIN_OFF(crmsync_unit_decl, sobject, 16),
	PIN_OFF(crmsync_unit_decl, direction, 24),
	PIN_OFF(crmsync_unit_decl, depends, 32),
	PIN_OFF(crmsync_unit_decl, fields, 40),
	PIN_OFF(crmsync_unit_decl, conflict, 48),
	PIN_OFF(crmsync_unit_decl, local_wins_fields, 56),
	PIN_OFF(crmsync_unit_decl, crm_wins_fields, 64),
	PIN_OFF(crmsync_unit_decl, delete_policy, 72),
	PIN_OFF(crmsync_unit_decl, filter, 80),
	PIN_OFF(crmsync_unit_decl, push_readonly_fields, 88),
	PIN_OFF(crmsync_unit_decl, hooks, 96),
	PIN_SIZE(crmsync_object_ops, 24),
	PIN_OFF(crmsync_object_ops, size, 0),
	PIN_OFF(crmsync_object_ops, unit_count, 8),
	PIN_OFF(crmsync_object_ops, unit_at, 16),
	PIN_SIZE(crmsync_change, 88),
	PIN_OFF(crmsync_change, size, 0),
	PIN_OFF(crmsync_change, seq, 8),
	PIN_OFF(crmsync_change, row, 16),
	PIN_OFF(crmsync_change, id, 24),
	PIN_OFF(crmsync_change, op, 32),
	PIN_OFF(crmsync_change, values, 40),
	PIN_OFF(crmsync_change, before, 48),
	PIN_OFF(crmsync_change, attempts, 56),
	PIN_OFF(crmsync_change, last_error, 64),
	PIN_OFF(crmsync_change, marked, 72),
	PIN_OFF(crmsync_change, error, 80),
	PIN_SIZE(crmsync_change_query, 40),
	PIN_OFF(crmsync_change_query, size, 0),
	PIN_OFF(crmsync_change_query, max, 8),
	PIN_OFF(crmsync_change_query, now_ms, 16),
	PIN_OFF(crmsync_change_query, ids, 24),
	PIN_OFF(crmsync_change_query, nids, 32),
	PIN_SIZE(crmsync_change_ack, 80),
	PIN_OFF(crmsync_change_ack, size, 0),
	PIN_OFF(crmsync_change_ack, row, 8),
	PIN_OFF(crmsync_change_ack, seq, 16),
	PIN_OFF(crmsync_change_ack, ok, 24),
	PIN_OFF(crmsync_change_ack, id, 32),
	PIN_OFF(crmsync_change_ack, modstamp_ms, 40),
	PIN_OFF(crmsync_change_ack, error_code, 48),
	PIN_OFF(crmsync_change_ack, error_message, 56),
	PIN_OFF(crmsync_change_ack, retry_at_ms, 64),
	PIN_OFF(crmsync_change_ack, deferred, 72),
	PIN_SIZE(crmsync_history_row, 112),
	PIN_OFF(crmsync_history_row, size, 0),
	PIN_OFF(crmsync_history_row, cycle, 8),
	PIN_OFF(crmsync_history_row, unit, 16),
	PIN_OFF(crmsync_history_row, step, 24),
	PIN_OFF(crmsync_history_row, started_ms, 32),
	PIN_OFF(crmsync_history_row, ended_ms, 40),
	PIN_OFF(crmsync_history_row, n_new, 48),
	PIN_OFF(crmsync_history_row, n_updated, 56),
	PIN_OFF(crmsync_history_row, n_deleted, 64),
	PIN_OFF(crmsync_history_row, n_failed, 72),
	PIN_OFF(crmsync_history_row, n_skipped, 80),
	PIN_OFF(crmsync_history_row, api_calls, 88),
	PIN_OFF(crmsync_history_row, status, 96),
	PIN_OFF(crmsync_history_row, message, 104),
	PIN_SIZE(crmsync_error_row, 72),
	PIN_OFF(crmsync_error_row, size, 0),
	PIN_OFF(crmsync_error_row, at_ms, 8),
	PIN_OFF(crmsync_error_row, cycle, 16),
	PIN_OFF(crmsync_error_row, unit, 24),
	PIN_OFF(crmsync_error_row, step, 32),
	PIN_OFF(crmsync_error_row, id, 40),
	PIN_OFF(crmsync_error_row, row, 48),
	PIN_OFF(crmsync_error_row, code, 56),
	PIN_OFF(crmsync_error_row, message, 64),
	PIN_SIZE(crmsync_conflict_row, 64),
	PIN_OFF(crmsync_conflict_row, size, 0),
	PIN_OFF(crmsync_conflict_row, at_ms, 8),
	PIN_OFF(crmsync_conflict_row, unit, 16),
	PIN_OFF(crmsync_conflict_row, id, 24),
	PIN_OFF(crmsync_conflict_row, field, 32),
	PIN_OFF(crmsync_conflict_row, local_value, 40),
	PIN_OFF(crmsync_conflict_row, crm_value, 48),
	PIN_OFF(crmsync_conflict_row, winner, 56),
	PIN_SIZE(crmsync_unit_stats, 56),
	PIN_OFF(crmsync_unit_stats, size, 0),
	PIN_OFF(crmsync_unit_stats, rows, 8),
	PIN_OFF(crmsync_unit_stats, deleted, 16),
	PIN_OFF(crmsync_unit_stats, pending, 24),
	PIN_OFF(crmsync_unit_stats, failed, 32),
	PIN_OFF(crmsync_unit_stats, unmarked_local, 40),
	PIN_OFF(crmsync_unit_stats, conflicts, 48),
	PIN_SIZE(crmsync_backend_ops, 208),
	PIN_OFF(crmsync_backend_ops, size, 0),
	PIN_OFF(crmsync_backend_ops, open, 8),
	PIN_OFF(crmsync_backend_ops, close, 16),
	PIN_OFF(crmsync_backend_ops, ensure_unit, 24),
	PIN_OFF(crmsync_backend_ops, begin, 32),
	PIN_OFF(crmsync_backend_ops, commit, 40),
	PIN_OFF(crmsync_backend_ops, rollback, 48),
	PIN_OFF(crmsync_backend_ops, upsert, 56),
	PIN_OFF(crmsync_backend_ops, mark_deleted, 64),
	PIN_OFF(crmsync_backend_ops, merge, 72),
	PIN_OFF(crmsync_backend_ops, state_get, 80),
	PIN_OFF(crmsync_backend_ops, state_set, 88),
	PIN_OFF(crmsync_backend_ops, changes_read, 96),
	PIN_OFF(crmsync_backend_ops, change_ack, 104),
	PIN_OFF(crmsync_backend_ops, row_update, 112),
	PIN_OFF(crmsync_backend_ops, history_add, 120),
	PIN_OFF(crmsync_backend_ops, error_add, 128),
	PIN_OFF(crmsync_backend_ops, conflict_add, 136),
	PIN_OFF(crmsync_backend_ops, history_read, 144),
	PIN_OFF(crmsync_backend_ops, errors_read, 152),
	PIN_OFF(crmsync_backend_ops, unit_stats, 160),
	PIN_OFF(crmsync_backend_ops, retention, 168),
	PIN_OFF(crmsync_backend_ops, row_read, 176),
	PIN_OFF(crmsync_backend_ops, reconcile_begin, 184),
	PIN_OFF(crmsync_backend_ops, reconcile_seen, 192),
	PIN_OFF(crmsync_backend_ops, reconcile_finish, 200),
	PIN_SIZE(crmsync_plugin_desc, 64),
	PIN_OFF(crmsync_plugin_desc, magic, 0),
	PIN_OFF(crmsync_plugin_desc, abi_major, 4),
	PIN_OFF(crmsync_plugin_desc, abi_minor, 6),
	PIN_OFF(crmsync_plugin_desc, size, 8),
	PIN_OFF(crmsync_plugin_desc, kind, 12),
	PIN_OFF(crmsync_plugin_desc, name, 16),
	PIN_OFF(crmsync_plugin_desc, version, 24),
	PIN_OFF(crmsync_plugin_desc, description, 32),
	PIN_OFF(crmsync_plugin_desc, init, 40),
	PIN_OFF(crmsync_plugin_desc, fini, 48),
	PIN_OFF(crmsync_plugin_desc, ops, 56),
	PIN_SIZE(struct crmsync_unit_hooks, 48),
	PIN_OFF(struct crmsync_unit_hooks, size, 0),
	PIN_OFF(struct crmsync_unit_hooks, map_in, 8),
	PIN_OFF(struct crmsync_unit_hooks, map_out, 16),
	PIN_OFF(struct crmsync_unit_hooks, on_merge, 24),
	PIN_OFF(struct crmsync_unit_hooks, on_delete, 32),
	PIN_OFF(struct crmsync_unit_hooks, on_convert, 40),
};

static void test_abi_layout_is_pinned(void **state)
{
	(void)state;
	int bad = 0;
	for (size_t i = 0; i < sizeof pins / sizeof *pins; i++)
		if (pins[i].found != pins[i].expected) {
			print_error("%s is %zu, pinned at %zu\n", pins[i].what, pins[i].found,
				    pins[i].expected);
			bad++;
		}
	assert_int_equal(bad, 0);
}

static void test_abi_version_and_magic(void **state)
{
	(void)state;
	assert_int_equal(CRMSYNC_ABI_MAJOR, 1);
	assert_int_equal(CRMSYNC_ABI_MAGIC, 0x434d5359u);
	assert_string_equal(CRMSYNC_PLUGIN_SYMBOL, "crmsync_plugin");
}

static void test_abi_enums_are_pinned(void **state)
{
	(void)state;
	/* values that cross the boundary as plain ints */
	assert_int_equal(CRMSYNC_KIND_OBJECT, 1);
	assert_int_equal(CRMSYNC_KIND_BACKEND, 2);
	assert_int_equal(CRMSYNC_NULL, 0);
	assert_int_equal(CRMSYNC_ID, 7);
	assert_int_equal(CRMSYNC_BOTH, 3);
	assert_int_equal(CRMSYNC_OUT_SKIPPED, 3);
	assert_int_equal(CRMSYNC_CHANGE_DELETE, 3);
	assert_int_equal(CRMSYNC_EUNSUPP, -7);
	assert_int_equal(CRMSYNC_LOG_DEBUG, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_abi_layout_is_pinned),
		cmocka_unit_test(test_abi_version_and_magic),
		cmocka_unit_test(test_abi_enums_are_pinned),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
