# bench: backend upsert benchmark
