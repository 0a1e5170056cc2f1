"""The `timeline` command: serve, tokens, import, projections, audit."""
