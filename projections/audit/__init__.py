"""Audit, pure: Merkle tree, signed heads, reading, verifying and replaying exports."""
