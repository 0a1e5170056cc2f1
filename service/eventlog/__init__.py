"""The append-only event log in PostgreSQL and the watcher of its head."""
