"""Names and constants shared by every vp-stats module.

This module is the single source of truth for value and trait names, the
circumplex order of Schwartz's basic values, the higher-order grouping, the
Likert answer labels of the Value Portrait items and the questionnaire keys.
Every other module imports from here; nothing else hard-codes these names.

Dimension names follow the upstream Value Portrait files exactly
(``Self_Direction``, ``Openness_to_Change`` ...), so tables written by vp-stats
can be compared with the published ones column for column.

References
----------
Schwartz, S. H. (1992). Universals in the content and structure of values.
Advances in Experimental Social Psychology, 25, 1-65.
Schwartz, S. H. (2003). A proposal for measuring value orientations across
nations. ESS Questionnaire Development Report, ch. 7 (the 21-item PVQ).
Rammstedt, B., & John, O. P. (2007). Measuring personality in one minute or
less: A 10-item short version of the Big Five Inventory. Journal of Research
in Personality, 41, 203-212.
Han, Choi, Song, Lee, Jo (2025). Value Portrait. ACL 2025, arXiv 2505.01015.

Examples
--------
>>> from vp_stats import schema
>>> schema.PVQ_VALUES[:3]
('Self_Direction', 'Stimulation', 'Hedonism')
>>> schema.HIGHER_ORDER_MAP['Self_Transcendence']
('Benevolence', 'Universalism')
>>> schema.FAMILIES['bfi']
('Extraversion', 'Agreeableness', 'Conscientiousness', 'Neuroticism', 'Openness')
"""

from __future__ import annotations

import functools
from types import MappingProxyType

__all__ = [
    "PVQ_VALUES",
    "PVQ_ABBREV",
    "HIGHER_ORDER_MAP",
    "HIGHER_ORDER_VALUES",
    "BFI_TRAITS",
    "FAMILIES",
    "FAMILY_NAMES",
    "family_of",
    "DIMENSION_ORDER",
    "order_dimensions",
    "orders_dimensions",
    "needs_order",
    "LIKERT_LABELS",
    "PVQ21_KEY",
    "PVQ21_N_ITEMS",
    "ESS_HVS_VARIABLES",
    "BFI10_KEY",
    "BFI_LABELS",
    "BFI10_ITEMS",
    "VARIANTS",
    "SOURCES",
    "SELECTION_MODES",
    "source_of",
    "PROB_COLUMNS",
    "ANSWER_COLUMNS",
]

#: Schwartz's ten basic values in circumplex order (adjacent values are
#: compatible, opposite values conflict; Universalism is adjacent to
#: Self_Direction, closing the circle).
PVQ_VALUES: tuple[str, ...] = (
    "Self_Direction",
    "Stimulation",
    "Hedonism",
    "Achievement",
    "Power",
    "Security",
    "Conformity",
    "Tradition",
    "Benevolence",
    "Universalism",
)

#: Two-letter abbreviations used in compact tables and figures.
PVQ_ABBREV = MappingProxyType(
    {
        "Self_Direction": "SD",
        "Stimulation": "ST",
        "Hedonism": "HE",
        "Achievement": "AC",
        "Power": "PO",
        "Security": "SE",
        "Conformity": "CO",
        "Tradition": "TR",
        "Benevolence": "BE",
        "Universalism": "UN",
    }
)

#: Higher-order values as scored in the released Value Portrait data.
#: Hedonism belongs to neither Openness to Change nor Self-Enhancement.
HIGHER_ORDER_MAP = MappingProxyType(
    {
        "Openness_to_Change": ("Self_Direction", "Stimulation"),
        "Self_Enhancement": ("Achievement", "Power"),
        "Conservation": ("Security", "Conformity", "Tradition"),
        "Self_Transcendence": ("Benevolence", "Universalism"),
    }
)
HIGHER_ORDER_VALUES: tuple[str, ...] = tuple(HIGHER_ORDER_MAP)

#: Big Five traits in the order of the released ``value.json``.
BFI_TRAITS: tuple[str, ...] = (
    "Extraversion",
    "Agreeableness",
    "Conscientiousness",
    "Neuroticism",
    "Openness",
)

#: The three dimension families and their dimensions.
FAMILIES = MappingProxyType(
    {
        "pvq": PVQ_VALUES,
        "higher_pvq": HIGHER_ORDER_VALUES,
        "bfi": BFI_TRAITS,
    }
)
FAMILY_NAMES: tuple[str, ...] = tuple(FAMILIES)


def family_of(dimension: str) -> str:
    """Return the family (``pvq``, ``higher_pvq`` or ``bfi``) of a dimension.

    Examples
    --------
    >>> family_of("Power")
    'pvq'
    >>> family_of("Conservation")
    'higher_pvq'
    """
    for fam, dims in FAMILIES.items():
        if dimension in dims:
            return fam
    raise KeyError(
        f"unknown dimension {dimension!r}; known: "
        + ", ".join(d for dims in FAMILIES.values() for d in dims)
    )


#: Every dimension in display order: the ten basic values in circumplex order, the
#: higher-order values, the Big Five (the order of :data:`FAMILIES`).
DIMENSION_ORDER: tuple[str, ...] = tuple(d for dims in FAMILIES.values() for d in dims)


def order_dimensions(df, columns=("family", "dimension")):
    """A copy of ``df`` whose ``family`` and ``dimension`` are ordered categoricals.

    Sorting then keeps the schema order (the circumplex for the basic values) instead of the
    alphabet. Families and dimensions the schema does not know (a user's own instrument)
    follow the known ones in their order of first appearance; a missing value stays missing.
    The text is unchanged: a CSV written from the result is identical to one written from
    ``df``. Columns absent from ``df`` are skipped.

    Parameters
    ----------
    df : pandas.DataFrame
        A table with a ``family`` and/or a ``dimension`` column.
    columns : sequence of str
        The columns to order (each must be ``family`` or ``dimension``).

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"family": ["pvq"] * 3, "dimension": ["Power", "Hedonism", "Tradition"]})
    >>> order_dimensions(t).sort_values("dimension").dimension.tolist()
    ['Hedonism', 'Power', 'Tradition']
    >>> order_dimensions(t).dimension.cat.ordered
    True
    """
    import pandas as pd

    known = {"family": FAMILY_NAMES, "dimension": DIMENSION_ORDER}
    out = df.copy()
    for col in columns:
        if col not in known:
            raise ValueError(f"order_dimensions orders 'family' and 'dimension', not {col!r}")
        if col not in out.columns:
            continue
        values = out[col]
        if isinstance(values.dtype, pd.CategoricalDtype) and values.cat.ordered:
            continue
        present = pd.unique(values.dropna().astype(str))
        base = [c for c in known[col] if c in set(present)]
        extra = [c for c in present if c not in set(known[col])]
        out[col] = pd.Categorical(
            values.where(values.isna(), values.astype(str)), categories=base + extra, ordered=True
        )
    return out


def needs_order(df) -> bool:
    """Whether ``df`` has a ``family`` or ``dimension`` column that is not yet ordered.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"dimension": ["Power"]})
    >>> needs_order(t), needs_order(order_dimensions(t)), needs_order(t[[]])
    (True, False, False)
    """
    import pandas as pd

    return any(
        c in df.columns and not (isinstance(df[c].dtype, pd.CategoricalDtype) and df[c].cat.ordered)
        for c in ("family", "dimension")
    )


def _ordered(value):
    import pandas as pd

    if isinstance(value, pd.DataFrame):
        return order_dimensions(value) if needs_order(value) else value
    if type(value) is dict:
        return {k: _ordered(v) for k, v in value.items()}
    if type(value) is tuple:
        return tuple(_ordered(v) for v in value)
    return value  # results objects order their own tables (vp_stats.tables.Result)


def orders_dimensions(fn):
    """Decorator: the tables ``fn`` returns get ``family`` and ``dimension`` ordered.

    Applies :func:`order_dimensions` to a returned DataFrame, and to the DataFrames of a returned
    dict or tuple; anything else is returned as it is (a :class:`vp_stats.tables.Result` orders
    its own tables when it is built). This marks, at the definition, every public function of
    :mod:`vp_stats.stats` and :mod:`vp_stats.studies` whose result table has these columns;
    ``tests/test_dimension_order.py`` checks that none is left out.

    Examples
    --------
    >>> import pandas as pd
    >>> @orders_dimensions
    ... def means():
    ...     return pd.DataFrame({"dimension": ["Tradition", "Power"], "mean": [1.0, 2.0]})
    >>> means().sort_values("dimension").dimension.tolist(), means.orders_dimensions
    (['Power', 'Tradition'], True)
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return _ordered(fn(*args, **kwargs))

    wrapper.orders_dimensions = True
    return wrapper


#: Answer labels of the Value Portrait items (and of the PVQ), rating -> label.
LIKERT_LABELS = MappingProxyType(
    {
        6: "very much like me",
        5: "like me",
        4: "somewhat like me",
        3: "a little like me",
        2: "not like me",
        1: "not like me at all",
    }
)
LIKERT_MIN, LIKERT_MAX = 1, 6

#: PVQ-21 (ESS Human Values Scale) item numbers per value.
PVQ21_KEY = MappingProxyType(
    {
        "Self_Direction": (1, 11),
        "Power": (2, 17),
        "Universalism": (3, 8, 19),
        "Achievement": (4, 13),
        "Security": (5, 14),
        "Stimulation": (6, 15),
        "Conformity": (7, 16),
        "Tradition": (9, 20),
        "Hedonism": (10, 21),
        "Benevolence": (12, 18),
    }
)
PVQ21_N_ITEMS = 21

#: ESS variable names of the 21 Human Values Scale items, in item order.
ESS_HVS_VARIABLES: tuple[str, ...] = (
    "ipcrtiv",
    "imprich",
    "ipeqopt",
    "ipshabt",
    "impsafe",
    "impdiff",
    "ipfrule",
    "ipudrst",
    "ipmodst",
    "ipgdtim",
    "impfree",
    "iphlppl",
    "ipsuces",
    "ipstrgv",
    "ipadvnt",
    "ipbhprp",
    "iprspot",
    "iplylfr",
    "impenv",
    "imptrad",
    "impfun",
)

#: BFI-10 items: item number -> (trait, reverse keyed). 5-point scale.
BFI10_KEY = MappingProxyType(
    {
        1: ("Extraversion", True),
        2: ("Agreeableness", False),
        3: ("Conscientiousness", True),
        4: ("Neuroticism", True),
        5: ("Openness", True),
        6: ("Extraversion", False),
        7: ("Agreeableness", True),
        8: ("Conscientiousness", False),
        9: ("Neuroticism", False),
        10: ("Openness", False),
    }
)
BFI_MIN, BFI_MAX = 1, 5

#: BFI-10 answer labels, rating 1..5 (Rammstedt & John 2007).
BFI_LABELS = MappingProxyType(
    {
        1: "disagree strongly",
        2: "disagree a little",
        3: "neither agree nor disagree",
        4: "agree a little",
        5: "agree strongly",
    }
)

#: BFI-10 item stems, completing "I see myself as someone who ..." (Rammstedt & John 2007).
BFI10_ITEMS = MappingProxyType(
    {
        1: "is reserved",
        2: "is generally trusting",
        3: "tends to be lazy",
        4: "is relaxed, handles stress well",
        5: "has few artistic interests",
        6: "is outgoing, sociable",
        7: "tends to find fault with others",
        8: "does a thorough job",
        9: "gets nervous easily",
        10: "has an active imagination",
    }
)

#: Prompt variants of the Value Portrait LLM evaluation (3 wordings x original
#: / reversed option order).
VARIANTS: tuple[str, ...] = (
    "v1",
    "v1_reversed",
    "v2",
    "v2_reversed",
    "v3",
    "v3_reversed",
)

#: Item sources of the Value Portrait queries, keyed by the first digit of the
#: portrait id as used upstream.
SOURCES: tuple[str, ...] = ("Reddit", "DearAbby", "ShareGPT", "LMSYS")

#: Selection modes for validated items.
SELECTION_MODES: tuple[str, ...] = ("pos", "abs", "neg")


def source_of(portrait_id: int) -> str:
    """Item source from the leading digit of the portrait id (1 Reddit ... 4 LMSYS).

    Examples
    --------
    >>> source_of(2034)
    'DearAbby'
    """
    return SOURCES[int(portrait_id) // 1000 - 1]


#: Answer probabilities of a logprobs-mode LLM answer.
PROB_COLUMNS = [f"p_{r}" for r in range(1, 7)]


#: The LLM answer table of :func:`vp_stats.llm.runner.run`.
ANSWER_COLUMNS = [
    "model",
    "portrait_id",
    "option_id",
    "variant",
    "raw_text",
    "rating",
    "parse_ok",
    "mode",
    *PROB_COLUMNS,
    "expected_rating",
    "entropy",
    "answer_mass",
    "persona_id",
    "latency_s",
    "prompt_tokens",
    "completion_tokens",
    "error",
    "backend",
    "model_id",
    "key",
    "from_cache",
]
