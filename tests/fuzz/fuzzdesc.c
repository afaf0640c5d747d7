/* fuzzdesc.c - the plugin module the loader fuzz target (fuzz_loader.c) loads:
 * its descriptor is writable and filled from fuzz input by fuzzdesc_set()
 * before each load, so the loader's descriptor checks see arbitrary magic,
 * versions, sizes, kinds, names, missing members and ops sizes. The fuzz
 * target keeps the module open itself, so the loader's open and close only
 * count references and the descriptor survives between inputs. */
#include <crmsync/plugin.h>
#include <stdint.h>
#include <string.h>

#define FUZZDESC_EXPORT __attribute__((visibility("default")))

static char fd_name[64];
static int fd_init_fails;
static union {
	size_t size;
	unsigned char pad[1024]; /* room for any ops struct the loader might read */
} fd_ops;

static int fd_init(const crmsync_host *host, crmsync_plugin_ctx *self, void **state,
		   crmsync_error *err)
{
	(void)self;
	if (fd_init_fails)
		return host->error_set(err, CRMSYNC_EINVAL, "fuzzed init failure");
	*state = &fd_ops;
	return 0;
}

static void fd_fini(void *state)
{
	(void)state;
}

FUZZDESC_EXPORT crmsync_plugin_desc crmsync_plugin;

/* Layout of d: magic(4) major(2) minor(2) size(4) kind(4) flags(1) ops_size(8) name...
 * flags: 1 name NULL, 2 version NULL, 4 init NULL, 8 ops NULL, 16 init fails,
 * 32 fini NULL. Missing bytes are those of a valid descriptor. */
FUZZDESC_EXPORT void fuzzdesc_set(const uint8_t *d, size_t n);
void fuzzdesc_set(const uint8_t *d, size_t n)
{
	unsigned char raw[25];
	crmsync_plugin_desc *p = &crmsync_plugin;
	uint32_t magic = CRMSYNC_ABI_MAGIC, size = sizeof(crmsync_plugin_desc),
		 kind = CRMSYNC_KIND_OBJECT;
	uint16_t major = CRMSYNC_ABI_MAJOR, minor = CRMSYNC_ABI_MINOR;
	uint64_t ops_size = 1024;

	memcpy(raw, &magic, 4);
	memcpy(raw + 4, &major, 2);
	memcpy(raw + 6, &minor, 2);
	memcpy(raw + 8, &size, 4);
	memcpy(raw + 12, &kind, 4);
	raw[16] = 0;
	memcpy(raw + 17, &ops_size, 8);
	memcpy(raw, d, n < sizeof raw ? n : sizeof raw);
	memcpy(&magic, raw, 4);
	memcpy(&major, raw + 4, 2);
	memcpy(&minor, raw + 6, 2);
	memcpy(&size, raw + 8, 4);
	memcpy(&kind, raw + 12, 4);
	memcpy(&ops_size, raw + 17, 8);
	if (n > sizeof raw) {
		size_t l =
		    n - sizeof raw < sizeof fd_name - 1 ? n - sizeof raw : sizeof fd_name - 1;
		memcpy(fd_name, d + sizeof raw, l);
		fd_name[l] = '\0';
	} else {
		strcpy(fd_name, "fuzzdesc");
	}
	p->magic = magic;
	p->abi_major = major;
	p->abi_minor = minor;
	p->size = size;
	p->kind = kind;
	p->name = raw[16] & 1 ? NULL : fd_name;
	p->version = raw[16] & 2 ? NULL : "0.0";
	p->description = "fuzzed descriptor";
	p->init = raw[16] & 4 ? NULL : fd_init;
	p->fini = raw[16] & 32 ? NULL : fd_fini;
	p->ops = raw[16] & 8 ? NULL : &fd_ops;
	fd_init_fails = raw[16] & 16;
	fd_ops.size = (size_t)ops_size;
}
