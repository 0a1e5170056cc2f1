"""PostgreSQL without HTTP: the log, read models, the stored tree, importers, the seed."""
