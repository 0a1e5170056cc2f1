"""SQL read models for cross-entity questions, their projector and rebuild."""
