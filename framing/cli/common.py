"""Option parsing that more than one command needs."""

from __future__ import annotations

__all__ = ["parse_label_map"]


def parse_label_map(text: str | None) -> dict[str, str] | None:
    """``"neg=critical,pos=promotional"`` as a dict; None for an empty or missing option.

    Raises ValueError (reported by the CLI as a usage error) for an entry that is not
    of the form ``key=value`` with both sides non-empty.
    """
    if not text:
        return None
    mapping: dict[str, str] = {}
    for entry in text.split(","):
        key, equals, value = entry.partition("=")
        key, value = key.strip(), value.strip()
        if not equals or not key or not value:
            raise ValueError(f"label map entries look like a=b; got {entry!r}")
        mapping[key] = value
    return mapping
