"""HTTP through the Litestar app against real PostgreSQL."""
