"""Small helpers shared by the figure modules."""

from __future__ import annotations

from vp_stats import schema


def check_family(family: str) -> tuple[str, ...]:
    """The dimensions of a family; a clear error for an unknown one."""
    if family not in schema.FAMILIES:
        raise ValueError(f"unknown family {family!r}; known: {list(schema.FAMILY_NAMES)}")
    return schema.FAMILIES[family]


def label(dim: str) -> str:
    """A dimension name as an axis label (``Self_Direction`` -> ``Self Direction``)."""
    return str(dim).replace("_", " ")
