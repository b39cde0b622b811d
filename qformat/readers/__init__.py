"""Readers of foreign formats; each module exposes ``read_<format>(path) -> Model``."""
