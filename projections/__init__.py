"""Pure folds: state of an entity as of a world date, as the log knew it at a moment."""
