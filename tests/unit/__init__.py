"""Pure code, no database: events, folds, segments, headlines, Merkle, audit readers."""
