# bench: build rules (included from the root Makefile.am)
