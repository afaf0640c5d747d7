# plugins/backends/sqlite: build rules
