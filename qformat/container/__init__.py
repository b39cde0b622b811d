"""The .qf container: preamble, JSON header, aligned checksummed parts (specs/qformat.md)."""
