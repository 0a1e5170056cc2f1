"""Pure readers for importers: published list formats and their dates, as well-typed records."""
