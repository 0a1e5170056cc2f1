"""Getting facts into the log: the seed, NDJSON files, published lists."""
