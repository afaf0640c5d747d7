# bench: client paging benchmark
