"""HTTP: the Litestar app, one controller per resource, problems, caching, metrics."""
