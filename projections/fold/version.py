"""The version of the fold's meaning.

An answer is a function of the log, the day, the moment and the fold. Bump `FOLD_VERSION` when
the same log can fold to a different answer (a new reading of old events, not only new event
types or fields): it is part of every read answer's ETag and sent as `Timeline-Fold-Version`,
so a cache that revalidates learns of the new reading (see docs/designations.md).

1: listings keyed by list. 2: designations, unmatched delistings, names over time, ownership.
3: changes tell a designation started or ended on a list the company stays on.
4: search also finds a Han name by its romanised form without the province or city word
(`Fujian Jinhua ...` for `福建省晋华...`).
5: a fuzzy search's capped candidates are the nearest (at most 100), then by id, not whichever
the plan met first (300): the lower answers of some searches for common words differ.
6: a search picks its rarest word by the rows the vocabulary counts, not by counting each word's
rows up to 2,000: where two words had 2,000 or more, a fuzzy search may keep other candidates.
"""

FOLD_VERSION = 6
