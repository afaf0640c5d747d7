/*
 * seed.c - deterministic generation of realistic test data (--seed SPEC).
 */
#include <stdio.h>

#include "sfemu.h"

int seed_run(emu *e, const char *spec, uint64_t rng, char *err, size_t errlen)
{
	(void)e;
	(void)spec;
	(void)rng;
	snprintf(err, errlen, "seeding is not implemented yet");
	return -1;
}
