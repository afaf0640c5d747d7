# bench/: benchmarks (figures, never timed tests)
include bench/sf.mk
include bench/backend.mk
