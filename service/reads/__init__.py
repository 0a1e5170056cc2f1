"""Where a read runs: the primary, or a read replica for immutable answers."""
