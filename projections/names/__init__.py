"""Name search, the pure part: scripts (simplified and traditional Chinese), the keys of a name,
and the ranking of entities for a query. Imports only `events` and third-party libraries."""
