/* fuzz_page.c - libFuzzer target: decoding a JSON query page into records
 * (sf_decode_page_text, core/sf_query.c + core/sf_page.c), with typed fields
 * so dates, datetimes, ids, numbers and relationship paths are all decoded.
 * Property: never crashes or leaks; a success yields count records that can be
 * read back field by field, a failure has a message; a second page decoded
 * into the same (reused) records behaves the same. */
#include "fuzz.h"

#include <string.h>

#include "sf_internal.h"

static const crmsync_field_desc fields[] = {
    {.name = "Id", .type = CRMSYNC_ID},
    {.name = "LastName", .type = CRMSYNC_STRING},
    {.name = "NumberOfEmployees", .type = CRMSYNC_INTEGER},
    {.name = "AnnualRevenue", .type = CRMSYNC_DOUBLE},
    {.name = "IsConverted", .type = CRMSYNC_BOOLEAN},
    {.name = "SystemModstamp", .type = CRMSYNC_DATETIME},
    {.name = "ConvertedDate", .type = CRMSYNC_DATE},
    {.name = "Owner.Name", .type = CRMSYNC_STRING},
    {.name = "Owner.Manager.Email", .type = CRMSYNC_STRING},
    {.name = "OwnerId", .type = CRMSYNC_ID},
};

static sf_client *client;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	sf_config cfg = {0};
	cs_error e = CS_ERROR_INIT;
	cfg.login_url = "http://127.0.0.1:1";
	cfg.client_id = "cid";
	cfg.username = "u@example.com";
	cfg.password = "pw";
	client = sf_client_new(&cfg, &e);
	if (!client)
		abort();
	return 0;
}

static void decode(const char *json, const sf_query_opts *o)
{
	sf_page p;
	char *next = NULL;
	cs_error e = CS_ERROR_INIT;
	memset(&p, 0, sizeof p);
	if (sf_decode_page_text(client, json, o, &p, &next, &e) == 0) {
		for (size_t i = 0; i < p.count; i++) {
			FUZZ_CHECK(p.records[i], "record %zu of %zu is NULL", i, p.count);
			size_t nf = cs_record_count(p.records[i]);
			for (size_t j = 0; j < nf; j++) {
				const char *name;
				crmsync_value v;
				char buf[64];
				FUZZ_CHECK(cs_record_at(p.records[i], j, &name, &v) == 0,
					   "field %zu", j);
				FUZZ_CHECK(name, "field without a name"); /* "" is a JSON key too */
				if (v.type == CRMSYNC_STRING || v.type == CRMSYNC_ID ||
				    v.type == CRMSYNC_DATE)
					FUZZ_CHECK(
					    v.u.s && memchr(v.u.s, 0, v.len) == NULL &&
						v.u.s[v.len] == '\0',
					    "string value of %s not NUL-terminated at len or "
					    "holds a NUL",
					    name);
				cs_value_text(&v, buf, sizeof buf);
			}
		}
	} else {
		FUZZ_CHECK(e.msg[0], "a failure without a message");
	}
	free(next);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	char *json = malloc(size + 1);
	FUZZ_CHECK(json, "out of memory");
	memcpy(json, data, size);
	json[size] = '\0';
	sf_query_opts typed = {.fields = fields, .nfields = sizeof fields / sizeof *fields};
	decode(json, &typed);
	decode(json, NULL); /* untyped: values keep their JSON types; reuses the records */
	free(json);
	return 0;
}
