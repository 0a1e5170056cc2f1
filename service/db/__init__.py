"""Where the database comes from: URL or embedded PostgreSQL, and migrations."""
