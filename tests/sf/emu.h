/*
 * emu.h - test helper: run tests/sfemu/sfemu as a child process on a free
 * loopback port, talk to its control plane (/__emu/...), and stop it.
 */
#ifndef CS_TEST_SF_EMU_H
#define CS_TEST_SF_EMU_H

#include <stddef.h>
#include <sys/types.h>

typedef struct emu {
	pid_t pid;
	char url[256]; /* "http://127.0.0.1:PORT" as printed by sfemu */
	char *body;    /* body of the last emu_ctl answer (malloc'ed) */
} emu;

/* Start sfemu with extra arguments (NULL-terminated). The binary is
 * $top_builddir/tests/sfemu/sfemu, or $SFEMU. 0, or -1 with a message on stderr. */
int emu_start(emu *e, const char *const *args);
/* SIGTERM, wait, free. Safe on a zeroed or stopped emu. */
void emu_stop(emu *e);
/* One control-plane call: method, path under the emulator ("/__emu/faults"),
 * optional JSON body. Returns the HTTP status (e->body holds the answer), or -1. */
long emu_ctl(emu *e, const char *method, const char *path, const char *json);
/* Same, with a printf-formatted body. */
long emu_ctlf(emu *e, const char *method, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Where the sfemu binary is (for skipping messages). */
const char *emu_binary(void);

#endif
