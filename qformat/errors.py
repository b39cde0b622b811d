"""One exception family for everything a bad file or a bad argument can cause.

Every error is a :class:`QFormatError` (a ``ValueError``), so callers can catch one type. The
message always says where (file, tensor, field), what was expected and what was found; the same
facts are kept as attributes for programs.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ArgumentError",
    "HeaderError",
    "IntegrityError",
    "LayoutError",
    "LimitError",
    "QFormatError",
    "UnsupportedError",
]

_UNSET: Any = object()


def _short(value: Any, limit: int = 200) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class QFormatError(ValueError):
    """Base class: the file or the argument is not what qformat can accept."""

    def __init__(
        self,
        message: str,
        *,
        path: Any = None,
        tensor: str | None = None,
        field: str | None = None,
        expected: Any = _UNSET,
        found: Any = _UNSET,
    ) -> None:
        self.detail = message
        self.path = None if path is None else str(path)
        self.tensor = tensor
        self.field = field
        self.expected = None if expected is _UNSET else expected
        self.found = None if found is _UNSET else found
        where = []
        if self.path is not None:
            where.append(self.path)
        if tensor is not None:
            where.append(f"tensor {_short(tensor, 120)!s}")
        if field is not None:
            where.append(f"field {field}")
        text = message
        facts = []
        if expected is not _UNSET:
            facts.append(f"expected {_short(expected)}")
        if found is not _UNSET:
            facts.append(f"found {_short(found)}")
        if facts:
            text = f"{text} ({', '.join(facts)})"
        super().__init__(": ".join([*where, text]))

    def with_context(self, *, path: Any = None, tensor: str | None = None) -> QFormatError:
        """Return a copy of this error that also names ``path`` / ``tensor`` (if not set yet)."""
        return type(self)(
            self.detail,
            path=self.path if self.path is not None else path,
            tensor=self.tensor if self.tensor is not None else tensor,
            field=self.field,
            expected=self.expected if self.expected is not None else _UNSET,
            found=self.found if self.found is not None else _UNSET,
        )


class HeaderError(QFormatError):
    """The file's structure (magic, header, index, offsets) is malformed or truncated."""


class LayoutError(QFormatError):
    """A layout configuration or its stored parts are inconsistent."""


class LimitError(QFormatError):
    """A count, length or size exceeds a hard cap of :mod:`qformat.limits` or the file."""


class IntegrityError(QFormatError):
    """Stored bytes do not match their checksum, or decoded content is invalid (NaN scales...)."""


class UnsupportedError(QFormatError):
    """Well-formed, but uses something this version cannot read (newer version, unknown type)."""


class ArgumentError(QFormatError):
    """A caller passed an argument qformat cannot accept (wrong shape, dtype, option)."""
