# plugins/backends/postgres: build rules
