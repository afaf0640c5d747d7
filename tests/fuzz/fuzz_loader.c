/* fuzz_loader.c - libFuzzer target: the plugin loader's checks (core/loader.c).
 *
 * Building a shared object per input is far too slow, so two cheaper ways in:
 *  - input starting with an even byte: the rest is a plugin descriptor
 *    (layout in fuzzdesc.c) written into the module fuzzdesc.so, which this
 *    target keeps open; cs_loader_load_file() then runs every descriptor check
 *    (magic, ABI major/minor, size, kind, name = file stem, missing members,
 *    ops size) and, when they pass, the plugin's init and later its fini.
 *    Property: a plugin is registered iff the descriptor is valid and init
 *    succeeds; every refusal starts with the file's path.
 *  - input starting with an odd byte: the rest is written as the bytes of a
 *    file NAME.so (never starting with the ELF magic: glibc's dlopen does not
 *    claim to survive malformed ELF); it must be refused with its path.
 * The module is found in $FUZZDESC_DIR, else next to the binary (.libs/ too). */
#include "fuzz.h"

#include <dlfcn.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "loader.h"
#include "log.h"

static char so_path[4400], file_path[4200], tmpdir[4096];
static void (*desc_set)(const uint8_t *, size_t);
static const crmsync_plugin_desc *desc;

static void cleanup(void)
{
	unlink(file_path);
	rmdir(tmpdir);
}

static int try_dir(const char *dir)
{
	snprintf(so_path, sizeof so_path, "%s/fuzzdesc.so", dir);
	return access(so_path, R_OK) == 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("FUZZDESC_DIR");
	char self[4096];
	const char *tmp = getenv("TMPDIR");

	snprintf(self, sizeof self, "%s", (*argc > 0) ? (*argv)[0] : ".");
	char *slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	else
		strcpy(self, ".");
	if (!(dir && try_dir(dir)) && !try_dir(self)) {
		char libs[4200];
		snprintf(libs, sizeof libs, "%s/.libs", self);
		if (!try_dir(libs)) {
			fprintf(stderr, "fuzz_loader: fuzzdesc.so not found (set FUZZDESC_DIR)\n");
			abort();
		}
	}
	void *h = dlopen(so_path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "fuzz_loader: %s\n", dlerror());
		abort();
	}
	desc_set = (void (*)(const uint8_t *, size_t))dlsym(h, "fuzzdesc_set");
	desc = dlsym(h, CRMSYNC_PLUGIN_SYMBOL);
	if (!desc_set || !desc)
		abort();
	snprintf(tmpdir, sizeof tmpdir, "%s/crmsync-fuzz-loader-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(tmpdir))
		abort();
	snprintf(file_path, sizeof file_path, "%s/junk.so", tmpdir);
	atexit(cleanup);
	cs_log_set_level(CRMSYNC_LOG_ERROR);
	return 0;
}

static int desc_valid(void)
{
	const crmsync_plugin_desc *d = desc;
	return d->magic == CRMSYNC_ABI_MAGIC && d->abi_major == CRMSYNC_ABI_MAJOR &&
	       d->abi_minor <= CRMSYNC_ABI_MINOR &&
	       d->size >= offsetof(crmsync_plugin_desc, ops) + sizeof(void *) &&
	       (d->kind == CRMSYNC_KIND_OBJECT || d->kind == CRMSYNC_KIND_BACKEND) && d->name &&
	       strcmp(d->name, "fuzzdesc") == 0 && d->version && d->init && d->ops;
}

static void load(const char *path, int expect_ok)
{
	cs_config *cfg = cs_config_new();
	cs_error e = CS_ERROR_INIT;
	cs_loader *ld = cs_loader_new(cfg, &e);
	FUZZ_CHECK(ld, "cs_loader_new: %s", e.msg);
	cs_plugin *p = NULL;
	int rc = cs_loader_load_file(ld, path, &p, &e);
	if (rc == 0) {
		FUZZ_CHECK(expect_ok != 0, "loaded %s with an invalid descriptor", path);
		FUZZ_CHECK(p && cs_loader_plugins(ld) == p && strcmp(p->name, "fuzzdesc") == 0,
			   "loaded plugin not registered as fuzzdesc");
	} else {
		FUZZ_CHECK(expect_ok != 1, "refused a valid plugin: %s", e.msg);
		FUZZ_CHECK(strncmp(e.msg, path, strlen(path)) == 0,
			   "refusal does not name the file: %s", e.msg);
		FUZZ_CHECK(cs_loader_plugins(ld) == NULL, "a refused plugin is registered");
	}
	cs_loader_free(ld);
	cs_config_free(cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 4096)
		return 0;
	if ((data[0] & 1) == 0) {
		desc_set(data + 1, size - 1);
		int valid = desc_valid();
		/* the ops size and init outcome decide among valid descriptors */
		load(so_path, valid ? -1 : 0);
		return 0;
	}
	FILE *f = fopen(file_path, "wb");
	FUZZ_CHECK(f, "cannot write %s", file_path);
	if (size > 1 && data[1] == 0x7f)
		fputc(0, f), fwrite(data + 2, 1, size - 2, f);
	else
		fwrite(data + 1, 1, size - 1, f);
	fclose(f);
	load(file_path, 0);
	return 0;
}
