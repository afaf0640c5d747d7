/* replay.c - run one fuzz target over its committed corpus once, as a TAP test
 * (make check). FUZZ_NAME is the target; the corpus is
 * $top_srcdir/tests/fuzz/corpus/FUZZ_NAME, or the directories/files given as
 * arguments. A property failure or crash aborts, which fails the test. */
#include "fuzz.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef FUZZ_NAME
#error "FUZZ_NAME must be defined"
#endif

static int nfiles;

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		printf("not ok %d - %s: cannot open\n", ++nfiles, path);
		return 1;
	}
	size_t cap = 4096, len = 0, n;
	uint8_t *buf = malloc(cap);
	while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len == cap) {
			uint8_t *nb = realloc(buf, cap *= 2);
			if (!nb) {
				free(buf);
				buf = NULL;
			}
			buf = nb;
		}
	}
	fclose(f);
	if (!buf) {
		printf("not ok %d - %s: out of memory\n", ++nfiles, path);
		return 1;
	}
	/* an exact-size copy so reads past the input are caught */
	uint8_t *exact = malloc(len ? len : 1);
	memcpy(exact, buf, len);
	free(buf);
	fflush(stdout);
	LLVMFuzzerTestOneInput(exact, len);
	free(exact);
	printf("ok %d - %s %s\n", ++nfiles, FUZZ_NAME,
	       strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
	return 0;
}

static int run_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;
	int bad = 0;

	if (!d) {
		printf("not ok %d - corpus %s: cannot open\n", ++nfiles, dir);
		return 1;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		names = realloc(names, (n + 1) * sizeof *names);
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof *names, name_cmp);
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		bad |= run_file(path);
		free(names[i]);
	}
	free(names);
	return bad;
}

int main(int argc, char **argv)
{
	int bad = 0;
	char def[4096];
	const char *src = getenv("top_srcdir");

	LLVMFuzzerInitialize(&argc, &argv);
	if (argc < 2) {
		snprintf(def, sizeof def, "%s/tests/fuzz/corpus/%s", src ? src : ".", FUZZ_NAME);
		bad |= run_dir(def);
	}
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
			bad |= run_dir(argv[i]);
		else
			bad |= run_file(argv[i]);
	}
	if (nfiles == 0) {
		printf("not ok 1 - %s: empty corpus\n", FUZZ_NAME);
		nfiles = 1;
		bad = 1;
	}
	printf("1..%d\n", nfiles);
	return bad;
}
