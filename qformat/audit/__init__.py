"""Auditing: reports over any supported model file (more checks arrive with later issues)."""
