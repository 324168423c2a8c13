"""Small helpers shared by the figure modules."""

from __future__ import annotations

import pandas as pd

from vp_stats import schema

FAMILY_TITLES = {
    "pvq": "Basic values (PVQ)",
    "higher_pvq": "Higher-order values",
    "bfi": "Big Five (BFI-10)",
}
HIGHLIGHT = "tab:red"


def check_family(family: str) -> tuple[str, ...]:
    """The dimensions of a family; a clear error for an unknown one."""
    if family not in schema.FAMILIES:
        raise ValueError(f"unknown family {family!r}; known: {list(schema.FAMILY_NAMES)}")
    return schema.FAMILIES[family]


def label(dim: str) -> str:
    """A dimension name as an axis label (``Self_Direction`` -> ``Self Direction``)."""
    return str(dim).replace("_", " ")


def families(df: pd.DataFrame, families) -> list[str]:
    """The families to draw: all present (schema order) or the ones asked for, checked."""
    present = set(df["family"])
    if families is None:
        return [f for f in schema.FAMILY_NAMES if f in present]
    families = [families] if isinstance(families, str) else list(families)
    unknown = [f for f in families if f not in schema.FAMILIES]
    if unknown:
        raise ValueError(f"unknown family {unknown[0]!r}; known: {list(schema.FAMILY_NAMES)}")
    return families


def color_ticks(ticks, highlight, color: str = HIGHLIGHT) -> None:
    """Bold, coloured tick labels for the names in ``highlight``."""
    if highlight is None:
        return
    highlight = {highlight} if isinstance(highlight, str) else set(highlight)
    for t in ticks:
        if t.get_text() in highlight:
            t.set_color(color)
            t.set_fontweight("bold")


def column_label(column: str) -> str:
    """A column name as readable text in the project's spelling (``centered_mean``: "centred mean").

    The column ``centered_mean`` keeps its published name; text on a figure says "centred".
    """
    return str(column).replace("centered", "centred").replace("_", " ")


def legend_outside(ax, **kwargs):
    """A legend right of the axes, so it never covers the data (keywords go to ``ax.legend``)."""
    kwargs.setdefault("loc", "upper left")
    kwargs.setdefault("bbox_to_anchor", (1.01, 1.0))
    kwargs.setdefault("borderaxespad", 0.0)
    kwargs.setdefault("frameon", False)
    return ax.legend(**kwargs)
