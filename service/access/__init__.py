"""Who may write: bearer tokens."""
