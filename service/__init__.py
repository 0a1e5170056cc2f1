"""All I/O: the PostgreSQL store, read models, HTTP app and CLI."""
