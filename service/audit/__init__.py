"""Audit on PostgreSQL: the stored Merkle tree, the signing key, export."""
