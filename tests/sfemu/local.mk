# tests/sfemu: build rules (included from the root Makefile.am)
