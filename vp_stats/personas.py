"""Demographic personas and comparisons of persona populations with real human data.

A *persona* is a mapping of demographic attributes (an open schema: ``gender``,
``age``, ``country``, ``education``, ``religiosity``, ``political_orientation``
...) rendered into a system prompt by a template. The default template gives
the form of the Value Portrait paper (Han et al., ACL 2025, section on
demographic groups): one attribute renders as ``"**Your Profile**: Your gender
is male."``; several attributes render as one sentence each, in the fixed order
of :data:`ATTRIBUTE_ORDER` (attributes not listed there follow, alphabetically).
:func:`persona_id` is a short sha256 of the canonical JSON of attributes and
template, stored with every cached LLM answer.

Comparisons with human data (no LLM calls here; the answers are inputs):

* item level (:func:`compare_item_distributions`): per item, the persona
  population's rating distribution against the human raters' distribution
  (mean difference, SD ratio, Jensen-Shannon distance, Wasserstein distance),
  summarised per item source and per value (:func:`summarise_item_comparison`);
* population level: :func:`variance_ratio` (do personas flatten human
  diversity?), :func:`value_hierarchy` (mean rank of each value),
  :func:`value_structure` (10 x 10 value correlations and Schwartz's circular
  order in a 2-D MDS, after Rozen et al., "Do LLMs have consistent values?",
  ICLR 2025);
* group level (:func:`group_gap_comparison`): an LLM's group gap against the
  human group gap with bootstrap CIs (the paper's metric: persona minus plain
  model against group mean minus overall mean, ESS round 11).

The Value Portrait release has no demographic columns (the Prolific
participants' demographics are not published), so group-level comparisons
need another reference such as ESS microdata (:mod:`vp_stats.ess`).

Examples
--------
>>> render_persona({"gender": "male"})
'**Your Profile**: Your gender is male.'
>>> render_persona({"political_orientation": "left", "age": "18-29"})
'**Your Profile**: Your age is 18-29. Your political orientation is left.'
>>> len(PAPER_PERSONAS)
25
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import warnings
from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial.distance import jensenshannon

from vp_stats import schema
from vp_stats.datasets import load_participant_scores, load_ratings, source_of

# --------------------------------------------------------------------------- personas

#: Fixed order in which attributes are rendered (others follow alphabetically).
ATTRIBUTE_ORDER: tuple[str, ...] = (
    "gender",
    "age",
    "race",
    "ethnicity",
    "nationality",
    "country",
    "language",
    "religion",
    "religiosity",
    "education",
    "occupation",
    "income",
    "marital_status",
    "political_orientation",
)

#: Default template: ``prefix`` + sentences joined by ``separator``; each
#: sentence is ``sentence.format(attribute=label, value=value)`` where the label
#: is the attribute name with underscores as spaces.
DEFAULT_TEMPLATE = MappingProxyType(
    {"prefix": "**Your Profile**: ", "sentence": "Your {attribute} is {value}.", "separator": " "}
)

#: Levels of the paper's 25 single-attribute personas. Known from the paper:
#: the seven attributes, 4 age bands, 3 political orientations (left / centre /
#: right), 4 education levels and 25 personas in all. ASSUMED here (the exact
#: wording is not in the released data): gender male / female; age bands
#: 18-29, 30-44, 45-59, 60 and older; education "less than high school", "high
#: school", "bachelor's degree", "graduate degree"; race White, Black, Asian,
#: Hispanic; religion Christian, Muslim, Buddhist, Hindu, none; income low,
#: middle, high (2 + 4 + 3 + 4 + 4 + 5 + 3 = 25). Use your own levels with
#: :func:`persona_table` if you know better ones.
PAPER_PERSONA_LEVELS = MappingProxyType(
    {
        "gender": ("male", "female"),
        "age": ("18-29", "30-44", "45-59", "60 and older"),
        "political_orientation": ("left", "centre", "right"),
        "education": (
            "less than high school",
            "high school",
            "bachelor's degree",
            "graduate degree",
        ),
        "race": ("White", "Black", "Asian", "Hispanic"),
        "religion": ("Christian", "Muslim", "Buddhist", "Hindu", "none"),
        "income": ("low", "middle", "high"),
    }
)

#: The paper's 25 single-attribute personas (levels partly assumed: see
#: :data:`PAPER_PERSONA_LEVELS`).
PAPER_PERSONAS: tuple[Mapping[str, str], ...] = tuple(
    MappingProxyType({attr: level})
    for attr, levels in PAPER_PERSONA_LEVELS.items()
    for level in levels
)


def canonical_attributes(attributes: Mapping[str, object]) -> dict[str, str]:
    """Validate a persona's attributes and return them as ``{name: text}`` in render order.

    Names must be non-empty strings; values are converted with ``str`` and
    stripped, and must not be empty or missing (``None`` / NaN).

    Examples
    --------
    >>> canonical_attributes({"income": "low", "age": 30})
    {'age': '30', 'income': 'low'}
    """
    if not isinstance(attributes, Mapping):
        raise TypeError(f"persona attributes must be a mapping, got {type(attributes).__name__}")
    out: dict[str, str] = {}
    for k, v in attributes.items():
        if not isinstance(k, str) or not k.strip():
            raise ValueError(f"persona attribute names must be non-empty strings, got {k!r}")
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            raise ValueError(f"persona attribute {k!r} has a missing value ({v!r})")
        text = str(v).strip()
        if not text:
            raise ValueError(f"persona attribute {k!r} has an empty value")
        out[k.strip()] = text
    rank = {a: i for i, a in enumerate(ATTRIBUTE_ORDER)}
    keys = sorted(out, key=lambda a: (rank.get(a, len(rank)), a))
    return {k: out[k] for k in keys}


def _template(template: Mapping[str, str] | None) -> dict[str, str]:
    t = dict(DEFAULT_TEMPLATE if template is None else template)
    missing = {"prefix", "sentence", "separator"} - set(t)
    if missing:
        raise ValueError(f"persona template lacks key(s) {sorted(missing)}; see DEFAULT_TEMPLATE")
    if "{value}" not in t["sentence"]:
        raise ValueError(f"template sentence {t['sentence']!r} has no {{value}} placeholder")
    return t


def render_persona(
    attributes: Mapping[str, object], template: Mapping[str, str] | None = None
) -> str:
    """Render a persona's attributes as a system prompt.

    Parameters
    ----------
    attributes : mapping
        Attribute name -> level. An empty mapping is the plain model (empty prompt).
    template : mapping, optional
        Keys ``prefix``, ``sentence`` (with ``{attribute}`` and ``{value}``),
        ``separator``; default :data:`DEFAULT_TEMPLATE` (the paper's form).

    Examples
    --------
    >>> render_persona({"gender": "female", "country": "Germany"})
    '**Your Profile**: Your gender is female. Your country is Germany.'
    >>> render_persona({})
    ''
    """
    attrs = canonical_attributes(attributes)
    if not attrs:
        return ""
    t = _template(template)
    sentences = [
        t["sentence"].format(attribute=k.replace("_", " "), value=v) for k, v in attrs.items()
    ]
    return t["prefix"] + t["separator"].join(sentences)


def persona_id(attributes: Mapping[str, object], template: Mapping[str, str] | None = None) -> str:
    """Stable 12-hex-digit id: sha256 of the canonical JSON of attributes and template.

    Attribute order and value types (``30`` vs ``"30"``) do not change the id;
    any change of level or template does.

    Examples
    --------
    >>> persona_id({"gender": "male"}) == persona_id({"gender": "male"}, DEFAULT_TEMPLATE)
    True
    >>> persona_id({"a": 1, "b": 2}) == persona_id({"b": "2", "a": "1"})
    True
    >>> len(persona_id({"gender": "male"}))
    12
    """
    payload = {
        "attributes": dict(sorted(canonical_attributes(attributes).items())),
        "template": _template(template),
    }
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def persona_table(
    personas: Sequence[Mapping[str, object]], template: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """One row per persona: ``persona_id``, ``system_prompt``, ``n_attributes``, attribute columns.

    Attribute columns follow :data:`ATTRIBUTE_ORDER`; a persona without an
    attribute has a missing value there.

    Examples
    --------
    >>> t = persona_table([{"gender": "male"}, {"age": "18-29"}])
    >>> t.columns.tolist()
    ['persona_id', 'system_prompt', 'n_attributes', 'gender', 'age']
    >>> t.system_prompt.tolist()
    ['**Your Profile**: Your gender is male.', '**Your Profile**: Your age is 18-29.']
    """
    rows = []
    for p in personas:
        attrs = canonical_attributes(p)
        rows.append(
            {
                "persona_id": persona_id(attrs, template),
                "system_prompt": render_persona(attrs, template),
                "n_attributes": len(attrs),
                **attrs,
            }  # fmt: skip
        )
    names = canonical_attributes(
        {
            k: "x"
            for r in rows
            for k in r
            if k not in ("persona_id", "system_prompt", "n_attributes")
        }
    )
    cols = ["persona_id", "system_prompt", "n_attributes", *names]
    return pd.DataFrame(rows, columns=cols)


def paper_personas(template: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The paper's 25 single-attribute personas as a table with ``attribute`` and ``level``.

    Levels are partly assumed (see :data:`PAPER_PERSONA_LEVELS`).

    Examples
    --------
    >>> t = paper_personas()
    >>> len(t), t.attribute.nunique(), t.persona_id.is_unique
    (25, 7, True)
    >>> t.system_prompt.iloc[0]
    '**Your Profile**: Your gender is male.'
    """
    out = persona_table(PAPER_PERSONAS, template)
    attr = [next(iter(p)) for p in PAPER_PERSONAS]
    return pd.DataFrame(
        {
            "persona_id": out["persona_id"],
            "attribute": attr,
            "level": [p[a] for p, a in zip(PAPER_PERSONAS, attr, strict=True)],
            "system_prompt": out["system_prompt"],
        }
    )


def persona_grid(
    levels: Mapping[str, Sequence[object]], template: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """Full factorial persona grid over attribute levels (see :func:`persona_table`).

    Examples
    --------
    >>> g = persona_grid({"gender": ["male", "female"], "age": ["18-29", "60+"]})
    >>> len(g), g.persona_id.is_unique
    (4, True)
    >>> g.system_prompt.iloc[0]
    '**Your Profile**: Your gender is male. Your age is 18-29.'
    """
    if not levels:
        raise ValueError("persona_grid needs at least one attribute with levels")
    for a, lv in levels.items():
        if isinstance(lv, str) or len(lv) == 0:
            raise ValueError(f"attribute {a!r}: levels must be a non-empty sequence, got {lv!r}")
        if len(set(map(str, lv))) != len(lv):
            raise ValueError(f"attribute {a!r}: duplicate levels in {list(lv)!r}")
    names = list(levels)
    combos = [
        dict(zip(names, c, strict=True)) for c in itertools.product(*(levels[a] for a in names))
    ]
    return persona_table(combos, template)


def sample_personas(
    n: int,
    *,
    margins: Mapping[str, Mapping[object, float]] | None = None,
    reference: pd.DataFrame | None = None,
    attributes: Sequence[str] | None = None,
    weight_col: str | None = None,
    seed: int = 0,
    template: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Draw a persona population matching a reference population (seeded).

    Exactly one of:

    * ``margins``: ``{attribute: {level: probability}}``; attributes are drawn
      independently, so a combination has probability = product of its margins;
    * ``reference``: a table of real people (e.g. ESS respondents) with the
      ``attributes`` columns and an optional ``weight_col`` (survey weights);
      rows are drawn with probability proportional to weight, which reproduces
      the reference's joint distribution. Rows with a missing attribute are
      left out.

    Returns
    -------
    DataFrame
        ``draw`` (0..n-1), ``persona_id``, ``system_prompt``, ``n_attributes``
        and the attribute columns. The same persona can be drawn several times
        (its frequency is its weight in the population).

    Examples
    --------
    >>> s = sample_personas(5, margins={"gender": {"male": 0.5, "female": 0.5}}, seed=1)
    >>> len(s), set(s.gender) <= {"male", "female"}
    (5, True)
    """
    if (margins is None) == (reference is None):
        raise ValueError("pass exactly one of margins= or reference=")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    rng = np.random.default_rng(seed)
    if margins is not None:
        drawn: dict[str, np.ndarray] = {}
        for a, m in margins.items():
            lv = list(m)
            p = np.asarray([m[x] for x in lv], dtype=float)
            if len(lv) == 0 or np.any(~np.isfinite(p)) or np.any(p < 0) or p.sum() <= 0:
                raise ValueError(
                    f"margins of {a!r} must be non-negative numbers with a positive sum, got {dict(m)!r}"
                )
            idx = rng.choice(len(lv), size=n, p=p / p.sum())
            drawn[a] = np.asarray(lv, dtype=object)[idx]
        combos = [{a: drawn[a][i] for a in drawn} for i in range(n)]
    else:
        attributes = (
            list(attributes)
            if attributes is not None
            else [c for c in reference.columns if c != weight_col]
        )
        missing = set(attributes) - set(reference.columns)
        if missing:
            raise ValueError(f"reference lacks attribute column(s) {sorted(missing)}")
        ref = reference.dropna(subset=attributes)
        if len(ref) == 0:
            raise ValueError("reference has no row with all attributes present")
        if weight_col is not None:
            w = ref[weight_col].to_numpy(dtype=float)
            if np.any(~np.isfinite(w) | (w < 0)) or w.sum() <= 0:
                raise ValueError(
                    f"weights in {weight_col!r} must be non-negative with a positive sum"
                )
            p = w / w.sum()
        else:
            p = None
        idx = rng.choice(len(ref), size=n, p=p)
        vals = ref[attributes].to_numpy(dtype=object)[idx]
        combos = [dict(zip(attributes, row, strict=True)) for row in vals]
    out = persona_table(combos, template)
    out.insert(0, "draw", np.arange(n))
    return out


# --------------------------------------------------------------------------- human reference


def item_distributions(
    ratings: pd.DataFrame, rating_col: str = "rating", by: Sequence[str] = ()
) -> pd.DataFrame:
    """Per item: counts of ratings 1..6, ``n``, ``mean`` and population ``sd`` (ddof 0).

    Non-integer ratings (e.g. answers averaged over prompt variants) are split
    between the two neighbouring categories in proportion to their distance
    (4.25 adds 0.75 to category 4 and 0.25 to category 5), which keeps the mean.

    Examples
    --------
    >>> import pandas as pd
    >>> r = pd.DataFrame({"portrait_id": 1001, "option_id": 1, "rating": [1, 2, 2, 4.5]})
    >>> d = item_distributions(r)
    >>> d[["count_1", "count_2", "count_4", "count_5", "n", "mean"]].values.tolist()
    [[1.0, 2.0, 0.5, 0.5, 4.0, 2.375]]
    """
    keys = [*by, "portrait_id", "option_id"]
    missing = set(keys) | {rating_col}
    missing -= set(ratings.columns)
    if missing:
        raise ValueError(
            f"rating table lacks column(s) {sorted(missing)}; has {list(ratings.columns)}"
        )
    x = pd.to_numeric(ratings[rating_col], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isnan(x) & ((x < schema.LIKERT_MIN) | (x > schema.LIKERT_MAX))
    if bad.any():
        row = ratings.iloc[int(np.flatnonzero(bad)[0])]
        raise ValueError(
            f"rating {row[rating_col]!r} outside {schema.LIKERT_MIN}-{schema.LIKERT_MAX} for item "
            f"({row['portrait_id']}, {row['option_id']})"
        )
    ok = ~np.isnan(x)
    df = ratings.loc[ok, keys].reset_index(drop=True)
    x = x[ok]
    gid = df.groupby(keys, sort=True).ngroup().to_numpy()
    n_g = gid.max() + 1 if len(gid) else 0
    lo = np.floor(x).astype(int)
    frac = x - lo
    k = schema.LIKERT_MAX
    counts = np.zeros((n_g, k + 2))
    np.add.at(counts, (gid, lo), 1 - frac)
    np.add.at(counts, (gid, np.minimum(lo + 1, k + 1)), frac)
    counts = counts[:, 1 : k + 1]
    first = df.groupby(keys, sort=True).size().reset_index()[keys]
    out = first.copy()
    for c in range(k):
        out[f"count_{c + 1}"] = counts[:, c]
    n = np.bincount(gid, minlength=n_g).astype(float)
    s1 = np.bincount(gid, weights=x, minlength=n_g)
    s2 = np.bincount(gid, weights=x * x, minlength=n_g)
    out["n"] = n
    out["mean"] = s1 / n
    out["sd"] = np.sqrt(np.maximum(s2 / n - (s1 / n) ** 2, 0.0))
    return out


def value_portrait_reference(data_dir: str | os.PathLike | None = None) -> dict[str, pd.DataFrame]:
    """The Value Portrait human reference: participant scores, ratings, item distributions.

    Returns a dict of tidy tables:

    * ``"scores"``: ``participant, family, dimension, score, rater`` for the
      569 participants of ``value.json`` (PVQ and higher-order MRAT-centred,
      BFI raw 1-5); ``rater`` is True for the 559 who rated items;
    * ``"ratings"``: the 24,320 item ratings (:func:`vp_stats.datasets.load_ratings`);
    * ``"item_distributions"``: per item counts of 1..6, ``n``, ``mean``, ``sd``
      and ``source`` (:func:`item_distributions`).

    The release has no demographic columns (age, gender, country ... of the
    Prolific participants are not published), so it cannot serve as the
    reference for group gaps; use ESS microdata (:mod:`vp_stats.ess`).

    Examples
    --------
    >>> ref = value_portrait_reference()
    >>> ref["scores"].participant.nunique(), int(ref["scores"].groupby("participant").rater.first().sum())
    (569, 559)
    >>> len(ref["item_distributions"]), int(ref["item_distributions"].n.sum())
    (520, 24320)
    """
    scores = load_participant_scores(data_dir)
    ratings = load_ratings(data_dir, participants=scores)
    scores["rater"] = scores["participant"].isin(set(ratings["participant"]))
    dist = item_distributions(ratings)
    dist.insert(2, "source", [source_of(p) for p in dist["portrait_id"]])
    return {"scores": scores, "ratings": ratings, "item_distributions": dist}


# --------------------------------------------------------------------------- item level

ITEM_COMPARISON_COLUMNS = [
    "portrait_id", "option_id", "source", "n_persona", "n_human", "mean_persona", "mean_human",
    "mean_diff", "sd_persona", "sd_human", "sd_ratio", "js_distance", "wasserstein",
]  # fmt: skip
_METRICS = ["mean_diff", "abs_mean_diff", "sd_ratio", "js_distance", "wasserstein"]


def compare_item_distributions(
    answers: pd.DataFrame,
    human_ratings: pd.DataFrame,
    *,
    rating_col: str = "rating",
    by: Sequence[str] = (),
) -> pd.DataFrame:
    """Per item: persona population's rating distribution against the human raters'.

    Parameters
    ----------
    answers : DataFrame
        Tidy persona answers ``persona_id, portrait_id, option_id, rating``
        (one row per persona, item and variant or run); pooled over all rows of
        an item (or per ``by`` group, e.g. ``["model"]``).
    human_ratings : DataFrame
        Tidy human ratings with ``portrait_id, option_id, rating``
        (:func:`vp_stats.datasets.load_ratings`).

    Returns
    -------
    DataFrame
        ``by..., portrait_id, option_id, source, n_persona, n_human,
        mean_persona, mean_human, mean_diff`` (persona minus human),
        ``sd_persona, sd_human`` (ddof 0), ``sd_ratio`` (persona / human),
        ``js_distance`` (Jensen-Shannon distance of the 6-category
        distributions, base 2, in [0, 1]; :func:`scipy.spatial.distance.jensenshannon`)
        and ``wasserstein`` (earth mover's distance on the 1-6 scale;
        :func:`scipy.stats.wasserstein_distance`). Only items present in both
        tables are compared (a warning names how many persona items lack human ratings).

    Examples
    --------
    >>> import pandas as pd
    >>> h = pd.DataFrame({"portrait_id": 1001, "option_id": 1, "rating": [1, 2, 2, 2]})
    >>> p = pd.DataFrame({"persona_id": list("abcd"), "portrait_id": 1001, "option_id": 1,
    ...                   "rating": [1, 1, 2, 2]})
    >>> c = compare_item_distributions(p, h)
    >>> c[["mean_diff", "wasserstein"]].values.tolist()
    [[-0.25, 0.25]]
    """
    by = list(by)
    pd_ = item_distributions(answers, rating_col, by)
    hd = item_distributions(
        human_ratings, "rating" if "rating" in human_ratings.columns else rating_col
    )
    merged = pd_.merge(hd, on=["portrait_id", "option_id"], suffixes=("_p", "_h"), how="inner")
    lost = len(pd_[["portrait_id", "option_id"]].drop_duplicates()) - len(
        merged[["portrait_id", "option_id"]].drop_duplicates()
    )
    if lost:
        warnings.warn(
            f"{lost} persona item(s) have no human ratings and are not compared",
            UserWarning,
            stacklevel=2,
        )
    cats = np.arange(schema.LIKERT_MIN, schema.LIKERT_MAX + 1, dtype=float)
    cp = merged[[f"count_{c}_p" for c in range(1, 7)]].to_numpy()
    ch = merged[[f"count_{c}_h" for c in range(1, 7)]].to_numpy()
    js = np.array([jensenshannon(a, b, base=2) for a, b in zip(cp, ch, strict=True)])
    # Wasserstein on raw persona values (exact for non-integer answers) vs human category counts
    raw = answers.assign(_x=pd.to_numeric(answers[rating_col], errors="coerce")).dropna(
        subset=["_x"]
    )
    groups = {
        k: g["_x"].to_numpy(dtype=float)
        for k, g in raw.groupby([*by, "portrait_id", "option_id"], sort=False)
    }
    keys = merged[[*by, "portrait_id", "option_id"]].itertuples(index=False, name=None)
    wd = np.array(
        [
            stats.wasserstein_distance(groups[k], cats, v_weights=h)
            for k, h in zip(keys, ch, strict=True)
        ]
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        sd_ratio = merged["sd_p"].to_numpy() / merged["sd_h"].to_numpy()
    out = pd.DataFrame(
        {
            **{b: merged[b] for b in by},
            "portrait_id": merged["portrait_id"],
            "option_id": merged["option_id"],
            "source": [source_of(p) for p in merged["portrait_id"]],
            "n_persona": merged["n_p"],
            "n_human": merged["n_h"],
            "mean_persona": merged["mean_p"],
            "mean_human": merged["mean_h"],
            "mean_diff": merged["mean_p"] - merged["mean_h"],
            "sd_persona": merged["sd_p"],
            "sd_human": merged["sd_h"],
            "sd_ratio": sd_ratio,
            "js_distance": js,
            "wasserstein": wd,
        }
    )
    return out.reset_index(drop=True)


def summarise_item_comparison(
    item_comparison: pd.DataFrame, by: str = "source", selected: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Average the item-level comparison per item source or per value.

    Parameters
    ----------
    item_comparison : DataFrame
        Output of :func:`compare_item_distributions`.
    by : {"source", "value"}
        ``"source"``: per :data:`vp_stats.schema.SOURCES`; ``"value"``: per
        family and dimension over the items validated for it.
    selected : DataFrame
        For ``by="value"``: ``portrait_id, option_id, family, dimension,
        selected`` (:func:`vp_stats.validation.select_items`); only rows with
        ``selected`` True are used.

    Returns
    -------
    DataFrame
        Grouping columns (plus any extra ``by`` columns of the comparison, such
        as ``model``), ``n_items`` and the means over items of ``mean_diff``,
        ``abs_mean_diff``, ``sd_ratio`` (items with a human SD of 0 skipped),
        ``js_distance`` and ``wasserstein``.

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({"portrait_id": [1001, 1002, 2001], "option_id": 1,
    ...                   "source": ["Reddit", "Reddit", "DearAbby"], "mean_diff": [0.5, -0.5, 1.0],
    ...                   "sd_ratio": 1.0, "js_distance": 0.1, "wasserstein": [0.5, 0.5, 1.0]})
    >>> s = summarise_item_comparison(c)
    >>> s[["source", "n_items", "mean_diff", "abs_mean_diff"]].values.tolist()
    [['Reddit', 2, 0.0, 0.5], ['DearAbby', 1, 1.0, 1.0]]
    """
    base = {"portrait_id", "option_id", "source", *ITEM_COMPARISON_COLUMNS}
    extra = [c for c in item_comparison.columns if c not in base]
    df = item_comparison.assign(abs_mean_diff=item_comparison["mean_diff"].abs())
    df = df.assign(sd_ratio=df["sd_ratio"].where(np.isfinite(df["sd_ratio"].to_numpy(dtype=float))))
    if by == "source":
        keys = [*extra, "source"]
        order = {s: i for i, s in enumerate(schema.SOURCES)}
        okey = "source"
    elif by == "value":
        if selected is None:
            raise ValueError(
                'by="value" needs selected= (portrait_id, option_id, family, dimension, selected)'
            )
        need = {"portrait_id", "option_id", "family", "dimension", "selected"} - set(
            selected.columns
        )
        if need:
            raise ValueError(f"selected lacks column(s) {sorted(need)}")
        sel = selected.loc[
            selected["selected"].astype(bool), ["portrait_id", "option_id", "family", "dimension"]
        ]
        df = df.merge(sel, on=["portrait_id", "option_id"], how="inner")
        keys = [*extra, "family", "dimension"]
        order = {
            d: i for i, d in enumerate(d for f in schema.FAMILY_NAMES for d in schema.FAMILIES[f])
        }
        okey = "dimension"
    else:
        raise ValueError(f'by must be "source" or "value", got {by!r}')
    g = df.groupby(keys, sort=False)
    out = g[_METRICS].mean().reset_index()
    out.insert(len(keys), "n_items", g.size().to_numpy())
    out = out.assign(_o=out[okey].map(order)).sort_values([*extra, "_o"], kind="stable")
    return out.drop(columns="_o").reset_index(drop=True)


def persona_profiles(
    answers: pd.DataFrame, corr: pd.DataFrame, *, rating_col: str = "rating", **kwargs
) -> pd.DataFrame:
    """Value profiles of every persona (Value Portrait scoring, :func:`vp_stats.scoring.value_profiles`).

    Answers (``persona_id, portrait_id, option_id, rating``, several rows per
    item for prompt variants or runs) are averaged per persona and item, then
    scored like a model. ``kwargs`` go to ``value_profiles`` (default
    ``n_boot=0``). Returns the profile table with ``persona_id`` for ``model``.

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame({"persona_id": "p", "portrait_id": [1001, 1001, 1002], "option_id": 1,
    ...                   "rating": [6, 4, 2]})
    >>> corr = pd.DataFrame({"portrait_id": [1001, 1002], "option_id": 1, "family": "bfi",
    ...                      "dimension": ["Openness", "Neuroticism"], "rho": [0.5, 0.4]})
    >>> persona_profiles(a, corr, exclusions=None).set_index("dimension").loc["Openness", "centered_mean"]
    np.float64(1.5)
    """
    from vp_stats.scoring import value_profiles

    need = {"persona_id", "portrait_id", "option_id", rating_col} - set(answers.columns)
    if need:
        raise ValueError(f"answers lack column(s) {sorted(need)}; have {list(answers.columns)}")
    if "model" in answers.columns and answers["model"].nunique() > 1:
        raise ValueError("answers hold several models; score each model's personas separately")
    avg = (
        answers.assign(numeric_response=pd.to_numeric(answers[rating_col], errors="coerce"))
        .groupby(["persona_id", "portrait_id", "option_id"], sort=False)["numeric_response"]
        .mean()
        .reset_index()
        .rename(columns={"persona_id": "model"})
    )
    kwargs.setdefault("n_boot", 0)
    prof = value_profiles(avg, corr, **kwargs)
    return prof.rename(columns={"model": "persona_id"})


# --------------------------------------------------------------------------- population level

_UNIT_COLS = ("persona_id", "model", "participant", "respondent")
_SCORE_COLS = ("centered_mean", "score")


def _detect(table: pd.DataFrame, given: str | None, options: Sequence[str], what: str) -> str:
    if given is not None:
        if given not in table.columns:
            raise ValueError(
                f"{what} column {given!r} not in table (columns: {list(table.columns)})"
            )
        return given
    for c in options:
        if c in table.columns:
            return c
    raise ValueError(
        f"no {what} column: expected one of {list(options)}; columns are {list(table.columns)}"
    )


def score_matrix(
    table: pd.DataFrame,
    family: str = "pvq",
    *,
    unit_col: str | None = None,
    score_col: str | None = None,
) -> pd.DataFrame:
    """Wide units x dimensions matrix of one family from a tidy score or profile table.

    The unit column defaults to the first of ``persona_id, model, participant,
    respondent`` present, the score column to ``centered_mean`` or ``score``.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"participant": ["a", "a"], "family": "bfi",
    ...                   "dimension": ["Openness", "Neuroticism"], "score": [3.0, 2.0]})
    >>> score_matrix(t, "bfi").loc["a"].tolist()
    [nan, nan, nan, 2.0, 3.0]
    """
    if family not in schema.FAMILIES:
        raise ValueError(f"unknown family {family!r}; one of {schema.FAMILY_NAMES}")
    unit = _detect(table, unit_col, _UNIT_COLS, "unit")
    score = _detect(table, score_col, _SCORE_COLS, "score")
    sub = table[table["family"] == family] if "family" in table.columns else table
    if sub.duplicated([unit, "dimension"]).any():
        r = sub[sub.duplicated([unit, "dimension"])].iloc[0]
        raise ValueError(
            f"more than one score for {unit} {r[unit]!r}, dimension {r['dimension']!r}"
        )
    wide = sub.pivot(index=unit, columns="dimension", values=score)
    return wide.reindex(columns=list(schema.FAMILIES[family])).astype(float)


def variance_ratio(
    persona_scores: pd.DataFrame,
    human_scores: pd.DataFrame,
    family: str = "pvq",
    *,
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int = 0,
    persona_unit_col: str | None = None,
    human_unit_col: str | None = None,
) -> pd.DataFrame:
    """Variance of each value across personas divided by its variance across humans.

    ``variance_ratio = var(persona scores) / var(human scores)`` (ddof 1, NaN
    scores left out); below 1 the persona population is less diverse than
    people (flattening), above 1 more. CIs: percentile bootstrap resampling
    personas and humans independently (seeded).

    Returns
    -------
    DataFrame
        ``family, dimension, var_persona, var_human, variance_ratio, ci_low,
        ci_high, n_persona, n_human``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> h = pd.DataFrame({"participant": range(4), "family": "bfi", "dimension": "Openness",
    ...                   "score": [1.0, 2.0, 3.0, 4.0]})
    >>> p = h.assign(participant=h.participant.astype(str), score=h.score / 2)
    >>> variance_ratio(p, h, "bfi", n_boot=0).dropna(subset=["var_human"]).variance_ratio.tolist()
    [0.25]
    """
    P = score_matrix(persona_scores, family, unit_col=persona_unit_col).to_numpy()
    H = score_matrix(human_scores, family, unit_col=human_unit_col).to_numpy()
    vp, vh = _var(P), _var(H)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = vp / vh
    lo = hi = np.full(len(ratio), np.nan)
    if n_boot:
        rng = np.random.default_rng(seed)
        bp = _boot_var(P, n_boot, rng)
        bh = _boot_var(H, n_boot, rng)
        with np.errstate(invalid="ignore", divide="ignore"):
            br = bp / bh
        a = (1 - ci) / 2
        lo, hi = _nanquantile(br, [a, 1 - a])
    dims = list(schema.FAMILIES[family])
    return pd.DataFrame(
        {
            "family": family,
            "dimension": dims,
            "var_persona": vp,
            "var_human": vh,
            "variance_ratio": ratio,
            "ci_low": lo,
            "ci_high": hi,
            "n_persona": (~np.isnan(P)).sum(axis=0),
            "n_human": (~np.isnan(H)).sum(axis=0),
        }  # fmt: skip
    )


def _var(X: np.ndarray) -> np.ndarray:
    """Column variances, ddof 1, NaN left out; NaN where fewer than 2 values."""
    ok = ~np.isnan(X)
    n = ok.sum(axis=0)
    X0 = np.where(ok, X, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = X0.sum(axis=0) / n
        v = (np.where(ok, X0 - m, 0.0) ** 2).sum(axis=0) / (n - 1)
    return np.where(n >= 2, v, np.nan)


def _nanquantile(x: np.ndarray, qs) -> list[np.ndarray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        x = np.where(np.isfinite(x), x, np.nan)
        return list(np.nanquantile(x, qs, axis=0))


def _boot_var(X: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Bootstrap variances (ddof 1, NaN-aware) of the columns of X: (n_boot, k)."""
    n = len(X)
    ok = ~np.isnan(X)
    X0 = np.where(ok, X, 0.0)
    out = np.empty((n_boot, X.shape[1]))
    chunk = max(1, int(2_000_000 // max(n, 1)))
    for s in range(0, n_boot, chunk):
        b = min(chunk, n_boot - s)
        M = rng.multinomial(n, np.full(n, 1.0 / n), size=b).astype(float)  # b x n
        cnt, s1, s2 = M @ ok, M @ X0, M @ (X0 * X0)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[s : s + b] = (s2 - s1 * s1 / cnt) / (cnt - 1)
    return out


def value_hierarchy(
    persona_scores: pd.DataFrame,
    human_scores: pd.DataFrame,
    family: str = "pvq",
    *,
    persona_unit_col: str | None = None,
    human_unit_col: str | None = None,
) -> pd.DataFrame:
    """Value hierarchy of the persona population against the human one.

    For each unit (persona or person) the values are ranked (1 = most
    important, ties averaged); the table gives each value's mean score and
    mean rank in both populations and ``rank_persona`` / ``rank_human``, the
    rank of the mean score. :func:`hierarchy_agreement` correlates them.

    Returns
    -------
    DataFrame
        ``family, dimension, mean_persona, mean_human, mean_rank_persona,
        mean_rank_human, rank_persona, rank_human``, in circumplex order.

    Examples
    --------
    >>> import pandas as pd
    >>> h = pd.DataFrame({"participant": ["a", "a"], "family": "bfi",
    ...                   "dimension": ["Openness", "Neuroticism"], "score": [3.0, 2.0]})
    >>> v = value_hierarchy(h.rename(columns={"participant": "persona_id"}), h, "bfi")
    >>> v.dropna()[["dimension", "mean_rank_human"]].values.tolist()
    [['Neuroticism', 2.0], ['Openness', 1.0]]
    """
    P = score_matrix(persona_scores, family, unit_col=persona_unit_col)
    H = score_matrix(human_scores, family, unit_col=human_unit_col)
    rp = P.rank(axis=1, ascending=False, method="average")
    rh = H.rank(axis=1, ascending=False, method="average")
    mp, mh = P.mean(), H.mean()
    return pd.DataFrame(
        {
            "family": family,
            "dimension": P.columns,
            "mean_persona": mp.to_numpy(),
            "mean_human": mh.to_numpy(),
            "mean_rank_persona": rp.mean().to_numpy(),
            "mean_rank_human": rh.mean().to_numpy(),
            "rank_persona": mp.rank(ascending=False).to_numpy(),
            "rank_human": mh.rank(ascending=False).to_numpy(),
        }
    )


def hierarchy_agreement(hierarchy: pd.DataFrame) -> pd.DataFrame:
    """Spearman rho and Kendall tau between persona and human mean ranks (one row).

    Examples
    --------
    >>> import pandas as pd
    >>> h = pd.DataFrame({"mean_rank_persona": [1, 2, 3], "mean_rank_human": [1, 3, 2]})
    >>> hierarchy_agreement(h).spearman_rho.round(3).tolist()
    [0.5]
    """
    d = hierarchy.dropna(subset=["mean_rank_persona", "mean_rank_human"])
    rho, p = stats.spearmanr(d["mean_rank_persona"], d["mean_rank_human"])
    tau, pt = stats.kendalltau(d["mean_rank_persona"], d["mean_rank_human"])
    return pd.DataFrame(
        {
            "spearman_rho": [rho],
            "spearman_p": [p],
            "kendall_tau": [tau],
            "kendall_p": [pt],
            "n_values": [len(d)],
        }
    )


def complete_scores(
    table: pd.DataFrame, family: str = "pvq", *, unit_col: str | None = None
) -> pd.DataFrame:
    """Tidy ``participant, family, dimension, score`` of the units scored on every value.

    Converts a persona profile table (``persona_id``, ``centered_mean``) or a
    human score table to the layout of :mod:`vp_stats.structure`, keeping
    complete cases only (units with a missing value are dropped; dimensions
    no unit is scored on are left out first).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"persona_id": ["a", "a", "b"], "family": "bfi",
    ...                   "dimension": ["Openness", "Neuroticism", "Openness"],
    ...                   "centered_mean": [0.5, -0.5, 0.1]})
    >>> complete_scores(t, "bfi").participant.unique().tolist()
    ['a']
    """
    W = score_matrix(table, family, unit_col=unit_col).dropna(axis=1, how="all").dropna()
    W.index = W.index.astype(str).rename("participant")
    W.columns.name = "dimension"
    out = W.stack().rename("score").reset_index()
    out.insert(1, "family", family)
    return out[["participant", "family", "dimension", "score"]]


def value_correlation_matrix(
    table: pd.DataFrame,
    family: str = "pvq",
    *,
    unit_col: str | None = None,
    method: str = "pearson",
) -> pd.DataFrame:
    """Correlations among a family's values across units (complete cases).

    Works on persona profiles and on human scores alike (see
    :func:`complete_scores`); computed by :func:`vp_stats.structure.correlation_matrix`.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"persona_id": list("aabbcc"), "family": "higher_pvq",
    ...                   "dimension": ["Conservation", "Openness_to_Change"] * 3,
    ...                   "centered_mean": [1.0, -1.0, 0.0, 0.0, -1.0, 1.0]})
    >>> value_correlation_matrix(t, "higher_pvq").loc["Conservation", "Openness_to_Change"]
    np.float64(-1.0)
    """
    from vp_stats import structure

    tidy = complete_scores(table, family, unit_col=unit_col)
    present = [d for d in schema.FAMILIES[family] if d in set(tidy["dimension"])]
    if family == "pvq" and len(present) == len(schema.PVQ_VALUES):
        return structure.correlation_matrix(tidy, family, method)
    # families with dimensions never scored: correlate what is there
    W = tidy.pivot(index="participant", columns="dimension", values="score").reindex(
        columns=present
    )
    if method == "spearman":
        W = W.rank()
    return W.corr().reindex(
        index=list(schema.FAMILIES[family]), columns=list(schema.FAMILIES[family])
    )


def value_structure(
    persona_scores: pd.DataFrame,
    human_scores: pd.DataFrame,
    family: str = "pvq",
    *,
    persona_unit_col: str | None = None,
    human_unit_col: str | None = None,
) -> pd.DataFrame:
    """Compare the value structure (correlations among values) of personas and humans.

    ``matrix_r`` / ``matrix_rho`` are the Pearson / Spearman correlations of
    the lower triangles of the two value correlation matrices
    (:func:`value_correlation_matrix`; a matrix correlation, without a Mantel
    test). For the basic values the table adds, per population, the circular
    order of a 2-D classical MDS of the correlations and its agreement with
    Schwartz's circle (:func:`vp_stats.structure.circumplex_positions` and
    :func:`vp_stats.structure.circumplex_check`: recovered order from
    Self-Direction, exact order up to rotation and reflection, theoretical
    neighbours kept as neighbours, mean displacement in positions), as in
    Rozen et al., "Do LLMs have consistent values?" (ICLR 2025).

    Returns
    -------
    DataFrame
        One row: ``family, n_persona, n_human, n_pairs, matrix_r, matrix_rho``
        and, for ``pvq``, ``order_persona, order_human, exact_order_persona,
        exact_order_human, adjacent_pairs_persona, adjacent_pairs_human,
        mean_displacement_persona, mean_displacement_human``.

    Examples
    --------
    >>> from vp_stats import structure
    >>> h = structure.synthetic_circumplex(n_participants=300, seed=1)
    >>> p = structure.synthetic_circumplex(n_participants=40, seed=2)
    >>> s = value_structure(p, h)
    >>> bool(s.matrix_r.item() > 0.9), bool(s.exact_order_human.item())
    (True, True)
    """
    from vp_stats import structure

    Cp = value_correlation_matrix(persona_scores, family, unit_col=persona_unit_col)
    Ch = value_correlation_matrix(human_scores, family, unit_col=human_unit_col)
    il = np.tril_indices(len(Cp), -1)
    a, b = Cp.to_numpy()[il], Ch.to_numpy()[il]
    ok = ~(np.isnan(a) | np.isnan(b))
    tp = complete_scores(persona_scores, family, unit_col=persona_unit_col)
    th = complete_scores(human_scores, family, unit_col=human_unit_col)
    row = {
        "family": family,
        "n_persona": tp["participant"].nunique(),
        "n_human": th["participant"].nunique(),
        "n_pairs": int(ok.sum()),
        "matrix_r": stats.pearsonr(a[ok], b[ok])[0] if ok.sum() > 2 else np.nan,
        "matrix_rho": stats.spearmanr(a[ok], b[ok])[0] if ok.sum() > 2 else np.nan,
    }
    if family == "pvq":
        for name, t in (("persona", tp), ("human", th)):
            chk = structure.circumplex_check(structure.circumplex_positions(t, family)).iloc[0]
            row[f"order_{name}"] = chk["recovered_order"]
            row[f"exact_order_{name}"] = bool(chk["exact_order"])
            row[f"adjacent_pairs_{name}"] = int(chk["adjacent_pairs_preserved"])
            row[f"mean_displacement_{name}"] = float(chk["mean_displacement"])
    return pd.DataFrame([row])


# --------------------------------------------------------------------------- group level


def _stratum_sums(X: np.ndarray, w: np.ndarray, n_boot: int, rng: np.random.Generator):
    """Weighted sums of one stratum: point (2, k) and bootstrap (n_boot, 2, k) of (sum w x, sum w)."""
    ok = ~np.isnan(X)
    W = w[:, None] * ok
    WX = W * np.where(ok, X, 0.0)
    point = np.stack([WX.sum(axis=0), W.sum(axis=0)])
    n = len(X)
    boot = np.empty((n_boot, 2, X.shape[1]))
    chunk = max(1, int(2_000_000 // max(n, 1)))
    for s in range(0, n_boot, chunk):
        b = min(chunk, n_boot - s)
        M = rng.multinomial(n, np.full(n, 1.0 / n), size=b).astype(float)
        boot[s : s + b, 0] = M @ WX
        boot[s : s + b, 1] = M @ W
    return point, boot


def _group_means(wide: pd.DataFrame, labels: np.ndarray, w: np.ndarray, wanted, n_boot, rng):
    """Point and bootstrap weighted means per wanted label (and 'overall'), resampling within strata."""
    X = wide.to_numpy(dtype=float)
    keys = pd.Series(labels).astype(object).where(pd.notna(labels), "__missing__").to_numpy()
    sums = {}
    for lab in pd.unique(keys):
        m = keys == lab
        sums[lab] = _stratum_sums(X[m], w[m], n_boot, rng)
    out = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        for lab in wanted:
            if lab == "__overall__":
                pt = sum(s[0] for s in sums.values())
                bt = sum(s[1] for s in sums.values())
            else:
                if lab not in sums:
                    raise ValueError(
                        f"group {lab!r} has no rows (groups: {sorted(map(str, sums))})"
                    )
                pt, bt = sums[lab]
            out[lab] = (
                pt[0] / pt[1],
                bt[:, 0] / bt[:, 1],
                int((keys == lab).sum()) if lab != "__overall__" else len(keys),
            )
    return out


def group_gap_comparison(
    persona_scores: pd.DataFrame,
    human_scores: pd.DataFrame,
    group_col: str,
    group_a: object,
    group_b: object | None = None,
    *,
    persona_baseline: pd.DataFrame | None = None,
    family: str = "pvq",
    weight_col: str | None = None,
    n_boot: int = 2000,
    ci: float = 0.95,
    seed: int = 0,
    persona_unit_col: str | Sequence[str] | None = None,
    human_unit_col: str | None = None,
) -> pd.DataFrame:
    """Compare an LLM's demographic group gap with the real human gap, per value.

    Two forms:

    * ``group_b`` given: LLM gap = mean persona score of group A minus group B;
      human gap = (weighted) mean of group A minus group B;
    * ``group_b=None`` (the Value Portrait paper's form): LLM shift = persona
      A minus the plain model (``persona_baseline``); human shift = group A
      mean minus the overall mean (all respondents, weighted).

    ``ratio = llm_gap / human_gap``: above 1 the LLM exaggerates the gap, in
    (0, 1) it flattens it, below 0 the sign is wrong (``sign_agree`` False). The
    ratio is unstable when the human gap is near 0 (its CI is then very wide);
    ``gap_difference = llm_gap - human_gap`` is the robust companion.

    CIs: percentile bootstrap (seeded). Humans are resampled within each group
    (stratified by ``group_col``, missing group its own stratum) with their
    survey weights carried along; persona runs are resampled within group (a
    group with a single run is held fixed), the baseline runs likewise;
    LLM and human replicates are paired by index, independent by construction.

    Parameters
    ----------
    persona_scores : DataFrame
        Tidy persona scores with ``group_col``, ``family``, ``dimension``, a
        score column (``centered_mean`` or ``score``) and unit column(s)
        identifying a run (default: those of ``model, persona_id, run``
        present). Several rows per group and dimension are several runs.
    human_scores : DataFrame
        Tidy human scores (e.g. :func:`vp_stats.ess.load_ess`): ``participant``,
        ``group_col``, ``family``, ``dimension``, ``score`` and ``weight_col``.
    persona_baseline : DataFrame, optional
        Plain-model scores (same layout without ``group_col``); needed when
        ``group_b`` is None.

    Returns
    -------
    DataFrame
        ``family, dimension, group_a, group_b, llm_gap, llm_ci_low, llm_ci_high,
        human_gap, human_ci_low, human_ci_high, gap_difference, diff_ci_low,
        diff_ci_high, ratio, ratio_ci_low, ratio_ci_high, sign_agree,
        n_llm_a, n_llm_b, n_human_a, n_human_b``.

    Examples
    --------
    >>> import pandas as pd
    >>> h = pd.DataFrame({"participant": range(4), "gender": ["m", "m", "f", "f"], "family": "pvq",
    ...                   "dimension": "Power", "score": [1.0, 0.0, 0.0, 0.0]})
    >>> p = pd.DataFrame({"persona_id": ["pm", "pf"], "gender": ["m", "f"], "family": "pvq",
    ...                   "dimension": "Power", "centered_mean": [1.0, 0.0]})
    >>> g = group_gap_comparison(p, h, "gender", "m", "f", n_boot=0)
    >>> g.set_index("dimension").loc["Power", ["llm_gap", "human_gap", "ratio"]].tolist()
    [1.0, 0.5, 2.0]
    """
    if group_b is None and persona_baseline is None:
        raise ValueError("group_b=None compares against the plain model: pass persona_baseline=")
    for name, t in (("persona_scores", persona_scores), ("human_scores", human_scores)):
        if group_col not in t.columns:
            raise ValueError(
                f"{name} has no group column {group_col!r} (columns: {list(t.columns)})"
            )
    dims = list(schema.FAMILIES[family])
    rng = np.random.default_rng(seed)

    # persona runs: wide runs x dims, with their group
    if persona_unit_col is None:
        units = [c for c in ("model", "persona_id", "run") if c in persona_scores.columns]
    else:
        units = [persona_unit_col] if isinstance(persona_unit_col, str) else list(persona_unit_col)
    if not units:
        raise ValueError(
            "persona_scores need a unit column (persona_id, model or run) or persona_unit_col="
        )
    pscore = _detect(persona_scores, None, _SCORE_COLS, "score")
    psub = (
        persona_scores[persona_scores["family"] == family]
        if "family" in persona_scores.columns
        else persona_scores
    )
    key = psub[units].astype(str).agg("|".join, axis=1)
    pwide = psub.assign(_unit=key).pivot_table(
        index=["_unit", group_col], columns="dimension", values=pscore, aggfunc="mean"
    )
    pwide = pwide.reindex(columns=dims)
    plabels = pwide.index.get_level_values(group_col).to_numpy()
    wanted_p = [group_a, group_b] if group_b is not None else [group_a]
    pm = _group_means(pwide, plabels, np.ones(len(pwide)), wanted_p, n_boot, rng)
    la, lab_a_boot, n_la = pm[group_a]
    if group_b is not None:
        lb, lab_b_boot, n_lb = pm[group_b]
    else:
        bunits = [c for c in units if c in persona_baseline.columns] or None
        bscore = _detect(persona_baseline, None, _SCORE_COLS, "score")
        bsub = (
            persona_baseline[persona_baseline["family"] == family]
            if "family" in persona_baseline.columns
            else persona_baseline
        )
        bkey = (
            bsub[bunits].astype(str).agg("|".join, axis=1)
            if bunits
            else pd.Series(np.arange(len(bsub)) // len(dims), index=bsub.index).astype(str)
        )
        bwide = (
            bsub.assign(_unit=bkey.to_numpy())
            .pivot_table(index="_unit", columns="dimension", values=bscore, aggfunc="mean")
            .reindex(columns=dims)
        )
        bm = _group_means(
            bwide,
            np.full(len(bwide), "base", dtype=object),
            np.ones(len(bwide)),
            ["base"],
            n_boot,
            rng,
        )
        lb, lab_b_boot, n_lb = bm["base"]
    llm_gap, llm_boot = la - lb, lab_a_boot - lab_b_boot

    # humans
    hunit = _detect(human_scores, human_unit_col, ("participant", "respondent"), "unit")
    hsub = (
        human_scores[human_scores["family"] == family]
        if "family" in human_scores.columns
        else human_scores
    )
    hscore = _detect(hsub, None, ("score", "centered_mean"), "score")
    hwide = hsub.pivot(index=hunit, columns="dimension", values=hscore).reindex(columns=dims)
    first = hsub.drop_duplicates(hunit).set_index(hunit).reindex(hwide.index)
    hlabels = first[group_col].to_numpy(dtype=object)
    if weight_col is None:
        hw = np.ones(len(hwide))
    else:
        if weight_col not in first.columns:
            raise ValueError(f"human_scores have no weight column {weight_col!r}")
        hw = first[weight_col].to_numpy(dtype=float)
        if np.any(~np.isfinite(hw) | (hw < 0)):
            r = int(np.flatnonzero(~np.isfinite(hw) | (hw < 0))[0])
            raise ValueError(
                f"weight {hw[r]!r} of respondent {hwide.index[r]!r} is missing or negative"
            )
    wanted_h = [group_a, group_b if group_b is not None else "__overall__"]
    hm = _group_means(hwide, hlabels, hw, wanted_h, n_boot, rng)
    ha, ha_boot, n_ha = hm[group_a]
    hb, hb_boot, n_hb = hm[wanted_h[1]]
    human_gap, human_boot = ha - hb, ha_boot - hb_boot

    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = llm_gap / human_gap
        ratio_boot = llm_boot / human_boot
    q = [(1 - ci) / 2, (1 + ci) / 2]
    if n_boot:
        (l_lo, l_hi), (h_lo, h_hi) = _nanquantile(llm_boot, q), _nanquantile(human_boot, q)
        d_lo, d_hi = _nanquantile(llm_boot - human_boot, q)
        r_lo, r_hi = _nanquantile(ratio_boot, q)
    else:
        l_lo = l_hi = h_lo = h_hi = d_lo = d_hi = r_lo = r_hi = np.full(len(dims), np.nan)
    return pd.DataFrame(
        {
            "family": family,
            "dimension": dims,
            "group_a": group_a,
            "group_b": group_b if group_b is not None else "plain model / overall mean",
            "llm_gap": llm_gap,
            "llm_ci_low": l_lo,
            "llm_ci_high": l_hi,
            "human_gap": human_gap,
            "human_ci_low": h_lo,
            "human_ci_high": h_hi,
            "gap_difference": llm_gap - human_gap,
            "diff_ci_low": d_lo,
            "diff_ci_high": d_hi,
            "ratio": ratio,
            "ratio_ci_low": r_lo,
            "ratio_ci_high": r_hi,
            "sign_agree": np.sign(llm_gap) == np.sign(human_gap),
            "n_llm_a": n_la,
            "n_llm_b": n_lb,
            "n_human_a": n_ha,
            "n_human_b": n_hb,
        }  # fmt: skip
    )


# --------------------------------------------------------------------------- running personas on an LLM

#: ``persona_id`` of the plain model (no system prompt).
PLAIN_PERSONA_ID = "plain"

#: Columns of a persona table that are not persona attributes.
_PERSONA_META = ("persona_id", "system_prompt", "n_attributes", "draw", "attribute", "level")


def _check_persona_table(personas_table: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(personas_table, pd.DataFrame):
        raise TypeError(
            f"personas_table must be a DataFrame (see persona_table / persona_grid), "
            f"got {type(personas_table).__name__}"
        )
    need = {"persona_id", "system_prompt"} - set(personas_table.columns)
    if need:
        raise ValueError(
            f"personas_table lacks column(s) {sorted(need)}; build it with persona_table(), "
            "persona_grid() or paper_personas()"
        )
    tab = personas_table.drop_duplicates("persona_id")
    if tab["persona_id"].isna().any():
        r = int(np.flatnonzero(tab["persona_id"].isna().to_numpy())[0])
        raise ValueError(f"personas_table row {r}: missing persona_id")
    dup = personas_table.groupby("persona_id")["system_prompt"].nunique()
    if (dup > 1).any():
        raise ValueError(
            f"persona_id {dup[dup > 1].index[0]!r} has several different system prompts"
        )
    if PLAIN_PERSONA_ID in set(tab["persona_id"]):
        raise ValueError(
            f"persona_id {PLAIN_PERSONA_ID!r} is reserved for the plain model (no system prompt)"
        )
    bad = tab["system_prompt"].isna() | (tab["system_prompt"].astype(str).str.strip() == "")
    if bad.any():
        pid = tab.loc[bad, "persona_id"].iloc[0]
        raise ValueError(
            f"persona {pid!r} has an empty system prompt; the plain model is added by "
            "include_plain=True"
        )
    return tab


def _persona_jobs(base_jobs: pd.DataFrame, tab: pd.DataFrame, include_plain: bool) -> pd.DataFrame:
    """Cross a job table with personas: per-row ``system_prompt`` and ``persona_id``."""
    frames = []
    if include_plain:
        frames.append(base_jobs.assign(persona_id=PLAIN_PERSONA_ID, system_prompt=None))
    for pid, sp in zip(tab["persona_id"], tab["system_prompt"], strict=True):
        frames.append(base_jobs.assign(persona_id=pid, system_prompt=str(sp)))
    if not frames:
        raise ValueError("no personas to run (empty personas_table and include_plain=False)")
    return pd.concat(frames, ignore_index=True)


def _join_attributes(answers: pd.DataFrame, tab: pd.DataFrame) -> pd.DataFrame:
    attrs = [c for c in tab.columns if c not in _PERSONA_META]
    info = tab[["persona_id", "system_prompt", *attrs]].copy()
    plain = pd.DataFrame({"persona_id": [PLAIN_PERSONA_ID], "system_prompt": [None]})
    info = pd.concat([plain, info], ignore_index=True)
    out = answers.merge(info, on="persona_id", how="left", validate="many_to_one")
    out.attrs.update(answers.attrs)  # n_cached / n_new of the run
    return out


def run_personas(
    backend,
    personas_table: pd.DataFrame,
    items: pd.DataFrame,
    variants: Sequence[str] = ("v1",),
    mode: str = "logprobs",
    cache=None,
    include_plain: bool = True,
    *,
    progress: bool = False,
    data_dir: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """Put Value Portrait items to an LLM under every persona (and as the plain model).

    Jobs are :func:`vp_stats.llm.prompts.item_prompts` (items x variants)
    crossed with the personas; each job carries its persona's ``system_prompt``
    and ``persona_id`` (the plain model: no system prompt, ``persona_id``
    ``"plain"``), so both are stored with every cached answer
    (:class:`vp_stats.llm.cache.AnswerCache`, table ``answers``). Answers come
    from :func:`vp_stats.llm.runner.run`; reruns read finished answers from
    ``cache``. Persona protocol as in Value Portrait (Han et al., ACL 2025,
    demographic groups): the persona is the system message, the item prompt
    unchanged.

    Parameters
    ----------
    backend : LlamaCppBackend or OpenAIBackend (or any object with the runner's interface)
    personas_table : DataFrame
        ``persona_id, system_prompt`` and attribute columns (:func:`persona_table`,
        :func:`persona_grid`, :func:`paper_personas`, :func:`sample_personas`).
    items : DataFrame
        Value Portrait items (``portrait_id, option_id, title, text, response``;
        :func:`vp_stats.datasets.load_items`, any subset).
    variants : sequence of str
        Prompt variants (:data:`vp_stats.schema.VARIANTS`).
    mode : {"logprobs", "grammar", "text"}
        Answer mode of the runner.
    cache : AnswerCache or path, optional
        SQLite answer cache (default: in memory, nothing persisted).
    include_plain : bool
        Also run the plain model (the baseline of persona shifts).

    Returns
    -------
    DataFrame
        The runner's tidy answer table (``model, portrait_id, option_id,
        variant, raw_text, rating, parse_ok, mode, p_1..p_6, ...,
        persona_id``) with ``system_prompt`` and the persona attribute columns
        joined (missing for the plain model).
    """
    from vp_stats.llm import prompts, runner

    tab = _check_persona_table(personas_table)
    base = prompts.item_prompts(items, variants=variants, data_dir=data_dir)
    jobs = _persona_jobs(base, tab, include_plain)
    ans = runner.run(jobs, backend, mode=mode, cache=cache, progress=progress)
    return _join_attributes(ans, tab)


def persona_value_profiles(answers: pd.DataFrame, corr: pd.DataFrame, **kwargs) -> pd.DataFrame:
    """Value profiles of every persona of a persona run, scored like models.

    Answers of a persona run (:func:`run_personas`; failed answers, ``parse_ok``
    False, are left out) are averaged per persona and item over variants and
    scored with :func:`vp_stats.scoring.value_profiles` (Value Portrait
    scoring: mean answer on the items with ``rho > 0.3`` for a value, centred
    on the mean over all items valid for any value of the family). The
    ``model`` column holds the ``persona_id`` (the plain model is ``"plain"``);
    ``persona_id`` repeats it, ``llm`` names the model that answered, and the
    persona attribute columns of ``answers`` are joined.

    Parameters
    ----------
    answers : DataFrame
        ``persona_id, portrait_id, option_id, rating`` (+ ``parse_ok``,
        ``model``, attribute columns).
    corr : DataFrame
        Item correlations (:func:`vp_stats.datasets.load_published_correlations`).
    **kwargs
        Passed to :func:`persona_profiles` / ``value_profiles`` (default ``n_boot=0``).

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame({"model": "m", "persona_id": ["plain", "plain", "x", "x"],
    ...                   "gender": [None, None, "male", "male"],
    ...                   "portrait_id": [1001, 1002] * 2, "option_id": 1,
    ...                   "rating": [5.0, 3.0, 6.0, 2.0], "parse_ok": True})
    >>> corr = pd.DataFrame({"portrait_id": [1001, 1002], "option_id": 1, "family": "bfi",
    ...                      "dimension": ["Openness", "Neuroticism"], "rho": [0.5, 0.4]})
    >>> p = persona_value_profiles(a, corr, exclusions=None)
    >>> p.query("dimension == 'Openness'")[["model", "gender", "centered_mean"]].reset_index(drop=True)
       model gender  centered_mean
    0  plain    NaN            1.0
    1      x   male            2.0
    """
    if "persona_id" not in answers.columns:
        raise ValueError("answers have no persona_id column (run them with run_personas)")
    a = answers
    if "parse_ok" in a.columns:
        a = a[a["parse_ok"].astype(bool)]
    llm = None
    if "model" in a.columns:
        models = pd.unique(a["model"].dropna())
        if len(models) > 1:
            raise ValueError(
                f"answers hold several models {list(models)}; score each model's personas separately"
            )
        llm = models[0] if len(models) else None
    cols = [c for c in ("persona_id", "portrait_id", "option_id", "rating") if c in a.columns]
    prof = persona_profiles(a[cols], corr, **kwargs)
    prof.insert(0, "model", prof["persona_id"])
    prof.insert(2, "llm", llm)
    attrs = [
        c
        for c in answers.columns
        if c not in set(runner_answer_columns()) | {"system_prompt", "item", "value", "prompt"}
    ]
    if attrs:
        info = answers[["persona_id", *attrs]].drop_duplicates("persona_id")
        prof = prof.merge(info, on="persona_id", how="left")
    return prof


def runner_answer_columns() -> list[str]:
    """Columns of the runner's answer table (:data:`vp_stats.llm.runner.ANSWER_COLUMNS`)."""
    from vp_stats.llm.runner import ANSWER_COLUMNS

    return list(ANSWER_COLUMNS)


def select_persona_items(
    items: pd.DataFrame,
    corr: pd.DataFrame,
    n_per_value: int = 4,
    *,
    family: str = "pvq",
    threshold: float = 0.3,
) -> pd.DataFrame:
    """A small item set covering every value of a family: the shortest validated items.

    For each value of ``family`` the ``n_per_value`` shortest items (by the
    length of title, text and response) with ``rho > threshold`` (published
    selection, upstream exclusions applied) are kept; the union is returned
    (an item valid for two values counts for both). Short items keep a persona
    run on a laptop CPU fast; they are not a random sample of items, so
    conclusions about the whole item pool need the full run.

    Returns
    -------
    DataFrame
        The selected rows of ``items`` with a ``selected_for`` column (the
        values the item was picked for, ``;``-joined), in item order.

    Examples
    --------
    >>> from vp_stats import datasets
    >>> sel = select_persona_items(datasets.load_items(), datasets.load_published_correlations(), 2)
    >>> 10 <= len(sel) <= 20, sel.portrait_id.is_monotonic_increasing or True
    (True, True)
    """
    from vp_stats import validation

    if n_per_value < 1:
        raise ValueError(f"n_per_value must be >= 1, got {n_per_value}")
    sel = validation.select_items(
        corr[corr["family"] == family], threshold, "pos", validation.upstream_exclusions()
    )
    sel = sel[sel["selected"]]
    it = items.assign(
        _len=items["title"].fillna("").str.len()
        + items["text"].fillna("").str.len()
        + items["response"].fillna("").str.len()
    )
    picked: dict[tuple[int, int], list[str]] = {}
    for dim in schema.FAMILIES[family]:
        keys = sel.loc[sel["dimension"] == dim, ["portrait_id", "option_id"]]
        cand = it.merge(keys, on=["portrait_id", "option_id"]).sort_values(
            ["_len", "portrait_id", "option_id"], kind="stable"
        )
        if len(cand) < n_per_value:
            warnings.warn(
                f"{dim}: only {len(cand)} validated item(s) available", UserWarning, stacklevel=2
            )
        for r in cand.head(n_per_value).itertuples(index=False):
            picked.setdefault((int(r.portrait_id), int(r.option_id)), []).append(dim)
    key = list(zip(it["portrait_id"].astype(int), it["option_id"].astype(int), strict=True))
    mask = np.array([k in picked for k in key])
    out = it.loc[mask].drop(columns="_len").copy()
    out["selected_for"] = [";".join(picked[k]) for k, m in zip(key, mask, strict=True) if m]
    return out.sort_values(["portrait_id", "option_id"]).reset_index(drop=True)


def age_band(age, bands: Sequence[str] = PAPER_PERSONA_LEVELS["age"]) -> np.ndarray:
    """Map ages in years to the age-band labels of the paper's personas.

    Bands are read from labels of the form ``"18-29"`` and ``"60 and older"``;
    ages outside every band (e.g. 15-17 in the ESS) and missing ages give None.

    Examples
    --------
    >>> age_band([17, 18, 29, 30, 59.0, 60, 95, float("nan")]).tolist()
    [None, '18-29', '18-29', '30-44', '45-59', '60 and older', '60 and older', None]
    """
    spans = []
    for b in bands:
        s = str(b)
        if "-" in s:
            lo, hi = s.split("-", 1)
            spans.append((float(lo), float(hi), s))
        elif "older" in s or s.endswith("+"):
            spans.append((float(s.split()[0].rstrip("+")), np.inf, s))
        else:
            raise ValueError(f"age band {s!r} is neither 'lo-hi' nor 'N and older' / 'N+'")
    x = np.asarray(age, dtype=float)
    out = np.full(x.shape, None, dtype=object)
    for lo, hi, s in spans:
        out[(x >= lo) & (x <= hi)] = s
    return out


# --------------------------------------------------------------------------- PVQ-21 put to an LLM

#: Portrait texts for the 21 PVQ-21 items, in ESS item order. These are
#: PARAPHRASES written for vp-stats of the content of the ESS Human Values Scale
#: items (Schwartz 2003), gender neutral ("this person"), not the official
#: wording, which we could not verify against an ESS source questionnaire here.
PVQ21_PARAPHRASES: tuple[str, ...] = (
    "This person values creativity and enjoys coming up with original ideas and ways of doing things.",
    "This person wants to be wealthy and to own money and costly possessions.",
    "This person believes everyone in the world deserves equal treatment and the same chances in life.",
    "This person wants to demonstrate their abilities and to be admired for what they do.",
    "This person cares about living in safe surroundings and stays away from anything that could put them in danger.",
    "This person enjoys surprises and keeps looking for new things to do; variety in life matters to them.",
    "This person thinks people should do as they are told and keep to the rules at all times, even when nobody is watching.",
    "This person makes an effort to listen to people unlike themselves and to understand them even when they disagree.",
    "This person wants to be humble and modest and avoids drawing attention to themselves.",
    "Enjoying themselves matters to this person; they like to treat themselves.",
    "This person wants to decide for themselves what they do and to be free and independent of others.",
    "Helping the people around them matters a great deal to this person; they want to look after others' well-being.",
    "Being highly successful matters to this person; they hope others will recognise what they achieve.",
    "This person wants the government to protect them from every threat and wants a strong state that can defend its citizens.",
    "This person seeks adventure, likes taking risks and wants an exciting life.",
    "This person wants always to behave properly and to avoid anything others would call wrong.",
    "Being respected by others matters to this person; they want people to follow their lead.",
    "This person wants to be loyal to their friends and devoted to the people close to them.",
    "This person is convinced that people should care for nature; protecting the environment matters to them.",
    "This person values tradition and follows the customs passed on by their religion or family.",
    "This person takes every chance to have fun and likes doing things that give them pleasure.",
)  # fmt: skip

#: Prompt wrapped around a portrait; the answer phrases are the runner's
#: (:data:`vp_stats.llm.runner.PHRASES`), i.e. the PVQ's own six labels.
PVQ21_TEMPLATE = (
    "Here is a short description of a person.\n\n{portrait}\n\n"
    "How much is this person like you? Answer with exactly one of: very much like me, like me, "
    "somewhat like me, a little like me, not like me, not like me at all."
)


def pvq21_prompts(
    texts: Sequence[str] | None = None, template: str = PVQ21_TEMPLATE
) -> pd.DataFrame:
    """Jobs putting the 21 PVQ-21 portrait items to an LLM (6-point PVQ answer scale).

    The portraits default to :data:`PVQ21_PARAPHRASES`: paraphrases written for
    vp-stats of the content of the ESS Human Values Scale items (Schwartz
    2003, ESS questionnaire development report ch. 7), gender neutral. They are
    NOT the official ESS wording (which we could not verify here), so scores
    are not directly comparable with ESS norms; pass the official texts (from an
    ESS source questionnaire, under its terms) as ``texts`` for that. The answer
    scale is the PVQ's (6 very much like me ... 1 not like me at all), which
    is also the runner's answer set, so ``logprobs`` mode scores exactly the
    six PVQ labels.

    Parameters
    ----------
    texts : sequence of 21 str, optional
        Portrait texts in ESS item order.
    template : str
        Prompt with a ``{portrait}`` placeholder.

    Returns
    -------
    DataFrame
        ``item`` (1..21), ``value`` (:data:`vp_stats.schema.PVQ21_KEY`),
        ``portrait_id`` (= item, the runner's item key), ``option_id`` (0),
        ``variant`` (``"pvq21"``), ``prompt``.

    Examples
    --------
    >>> j = pvq21_prompts()
    >>> len(j), j.value.iloc[0], j.value.iloc[2]
    (21, 'Self_Direction', 'Universalism')
    >>> j.prompt.iloc[0].splitlines()[0]
    'Here is a short description of a person.'
    """
    texts = list(PVQ21_PARAPHRASES if texts is None else texts)
    if len(texts) != schema.PVQ21_N_ITEMS:
        raise ValueError(f"texts must hold {schema.PVQ21_N_ITEMS} portraits, got {len(texts)}")
    if "{portrait}" not in template:
        raise ValueError("template must contain the placeholder {portrait}")
    for i, t in enumerate(texts, 1):
        if not isinstance(t, str) or not t.strip():
            raise ValueError(f"portrait text of item {i} is empty or not a string")
    value_of = {i: v for v, its in schema.PVQ21_KEY.items() for i in its}
    items = np.arange(1, schema.PVQ21_N_ITEMS + 1)
    return pd.DataFrame(
        {
            "item": items,
            "value": [value_of[i] for i in items],
            "portrait_id": items,
            "option_id": 0,
            "variant": "pvq21",
            "prompt": [template.replace("{portrait}", t.strip()) for t in texts],
        }
    )


def run_pvq21(
    backend,
    personas_table: pd.DataFrame | None = None,
    mode: str = "logprobs",
    cache=None,
    include_plain: bool = True,
    *,
    texts: Sequence[str] | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Administer the PVQ-21 to an LLM, as the plain model and under personas.

    Returns the runner's answer table with ``item`` (1..21) and ``value``
    added, ``system_prompt`` and persona attributes joined; score it with
    :func:`score_llm_pvq21`.
    """
    from vp_stats.llm import runner

    base = pvq21_prompts(texts)
    if personas_table is None:
        personas_table = pd.DataFrame(columns=["persona_id", "system_prompt"])
        if not include_plain:
            raise ValueError("nothing to run: no personas_table and include_plain=False")
    tab = _check_persona_table(personas_table) if len(personas_table) else personas_table
    jobs = _persona_jobs(base, tab, include_plain)
    ans = runner.run(jobs, backend, mode=mode, cache=cache, progress=progress)
    if len(ans) != len(jobs):
        raise RuntimeError(f"the runner returned {len(ans)} answers for {len(jobs)} jobs")
    ans.insert(2, "item", jobs["item"].to_numpy())
    ans.insert(3, "value", jobs["value"].to_numpy())
    return _join_attributes(ans, tab)


def score_llm_pvq21(answers: pd.DataFrame, rating: str = "mode") -> pd.DataFrame:
    """Score an LLM's PVQ-21 answers per persona (MRAT-centred values).

    Parameters
    ----------
    answers : DataFrame
        ``persona_id, item`` and, for ``rating="mode"``, ``raw_text`` or
        ``rating``; for ``rating="expected"``, ``rating`` (logprobs expected
        rating) -- as returned by :func:`run_pvq21`.
    rating : {"mode", "expected"}
        ``"mode"``: the most probable answer phrase (an integer 1..6), scored
        with :func:`vp_stats.instruments.pvq.score_pvq21`; ``"expected"``: the
        expected rating ``sum_r r p_r`` of logprobs mode (fractional), scored
        with the same formula (mean of a value's items minus the mean of all 21
        answered items; Schwartz's MRAT centring), implemented here because
        ``score_pvq21`` accepts integer answers only. The two agree on integer
        answers (tested).

    Returns
    -------
    DataFrame
        ``score_pvq21`` layout with ``respondent`` = ``persona_id`` and a
        ``persona_id`` column.

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame({"persona_id": "plain", "item": range(1, 22), "rating": [6.0] + [3.0] * 20})
    >>> s = score_llm_pvq21(a, "expected")
    >>> round(s.query("dimension == 'Self_Direction'").score.item(), 4)  # 4.5 - 66/21
    1.3571
    """
    from vp_stats.instruments.pvq import score_pvq21

    need = {"persona_id", "item"} - set(answers.columns)
    if need:
        raise ValueError(f"answers lack column(s) {sorted(need)}")
    ok = answers["parse_ok"].astype(bool) if "parse_ok" in answers.columns else True
    a = answers.assign(_ok=ok)
    if rating == "mode":
        if "raw_text" in a.columns and a["raw_text"].notna().any():
            from vp_stats.llm import parse

            def _mode(t):
                return parse.parse_answer(t).rating if isinstance(t, str) else None

            x = a["raw_text"].map(_mode)
        else:
            x = np.round(pd.to_numeric(a["rating"], errors="coerce"))
        x = pd.to_numeric(x, errors="coerce").where(a["_ok"])
        long = pd.DataFrame({"respondent": a["persona_id"], "item": a["item"], "answer": x})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            out = score_pvq21(long)
    elif rating == "expected":
        x = pd.to_numeric(a["rating"], errors="coerce").where(a["_ok"])
        bad = x.notna() & ((x < 1) | (x > 6))
        if bad.any():
            r = a.loc[bad].iloc[0]
            raise ValueError(
                f"persona {r['persona_id']!r}, item {r['item']}: rating {r['rating']!r} outside 1..6"
            )
        dup = a.duplicated(["persona_id", "item"])
        if dup.any():
            r = a.loc[dup].iloc[0]
            raise ValueError(f"duplicate answers for persona {r['persona_id']!r}, item {r['item']}")
        W = (
            pd.DataFrame({"p": a["persona_id"], "i": a["item"].astype(int), "x": x})
            .pivot(index="p", columns="i", values="x")
            .reindex(index=pd.unique(a["persona_id"]), columns=range(1, 22))
        )
        X = W.to_numpy(dtype=float)
        person = np.nanmean(X, axis=1)
        rows = []
        groups = [("pvq", v, schema.PVQ21_KEY[v]) for v in schema.PVQ_VALUES] + [
            ("higher_pvq", h, tuple(i for v in vs for i in schema.PVQ21_KEY[v]))
            for h, vs in schema.HIGHER_ORDER_MAP.items()
        ]
        for fam, dim, its in groups:
            sub = X[:, [i - 1 for i in its]]
            n = (~np.isnan(sub)).sum(axis=1)
            with np.errstate(invalid="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                sc = np.nanmean(sub, axis=1) - person
            for p, s, k in zip(W.index, sc, n, strict=True):
                rows.append((p, fam, dim, s, int(k), "ok" if k else "too_few_items"))
        out = pd.DataFrame(
            rows, columns=["respondent", "family", "dimension", "score", "n_items", "status"]
        )
        order = {p: i for i, p in enumerate(W.index)}
        out = out.sort_values("respondent", key=lambda s: s.map(order), kind="stable")
        out = out.reset_index(drop=True)
    else:
        raise ValueError(f"rating must be 'mode' or 'expected', got {rating!r}")
    out["persona_id"] = out["respondent"]
    return out


# --------------------------------------------------------------------------- comparisons bundle, files, study

#: Required columns of a persona answer file (:func:`compare_file`).
ANSWER_FILE_COLUMNS = ("persona_id", "portrait_id", "option_id", "rating")


def persona_shifts(profiles: pd.DataFrame, family: str = "pvq") -> pd.DataFrame:
    """Each persona's shift from the plain model per value: ``persona - plain``.

    The LLM side of the paper's group metric (Value Portrait, demographic
    groups): persona score minus the plain model's score.

    Examples
    --------
    >>> import pandas as pd
    >>> p = pd.DataFrame({"persona_id": ["plain", "x"], "gender": [None, "male"], "family": "pvq",
    ...                   "dimension": "Power", "centered_mean": [0.25, 1.0]})
    >>> persona_shifts(p)[["persona_id", "gender", "dimension", "shift"]].values.tolist()
    [['x', 'male', 'Power', 0.75]]
    """
    sub = profiles[profiles["family"] == family]
    base = sub[sub["persona_id"] == PLAIN_PERSONA_ID]
    if base.empty:
        raise ValueError(
            f"no plain-model profile (persona_id {PLAIN_PERSONA_ID!r}): run with include_plain=True"
        )
    b = base.set_index("dimension")["centered_mean"]
    out = sub[sub["persona_id"] != PLAIN_PERSONA_ID].copy()
    out["plain"] = out["dimension"].map(b).to_numpy()
    out["shift"] = out["centered_mean"] - out["plain"]
    keep = [c for c in out.columns if c not in ("original_mean", "std_dev", "ci_low", "ci_high")]
    return out[keep].reset_index(drop=True)


def compare_personas(
    answers: pd.DataFrame,
    corr: pd.DataFrame | None = None,
    *,
    human: Mapping[str, pd.DataFrame] | None = None,
    ess_scores: pd.DataFrame | None = None,
    group_col: str | None = None,
    group_a: object | None = None,
    group_b: object | None = None,
    family: str = "pvq",
    n_boot: int = 1000,
    seed: int = 0,
    weight_col: str | None = "weight",
) -> dict[str, pd.DataFrame]:
    """The three comparisons of a persona run with human data, as tables.

    * ``"item"``: per item, the persona population's answers (plain model
      left out) against the Value Portrait raters' distribution
      (:func:`compare_item_distributions`);
    * ``"population"``: per value, :func:`variance_ratio` and
      :func:`value_hierarchy` of the persona profiles against the Value
      Portrait participants' MRAT-centred scores (merged on family, dimension);
    * ``"structure"``: :func:`value_structure` (one row; empty with a note in
      ``attrs["note"]`` when fewer than 3 personas have complete profiles);
    * ``"group"``: :func:`group_gap_comparison` against ``ess_scores``
      (:func:`vp_stats.ess.load_ess`); the Value Portrait release has no
      demographic columns, so without ``ess_scores`` this table is empty and
      ``attrs["note"]`` says why. ``group_col="age"`` maps ESS ages to the
      persona age bands (:func:`age_band`).

    Also ``"profiles"`` (:func:`persona_value_profiles`) and ``"shifts"``
    (:func:`persona_shifts`, when the plain model was run).
    """
    from vp_stats import datasets

    if corr is None:
        corr = datasets.load_published_correlations()
    if human is None:
        human = value_portrait_reference()
    prof = persona_value_profiles(answers, corr)
    personas_only = prof[prof["persona_id"] != PLAIN_PERSONA_ID]
    has_plain = (prof["persona_id"] == PLAIN_PERSONA_ID).any()
    pop_units = personas_only if personas_only["persona_id"].nunique() else prof
    ok = answers["parse_ok"].astype(bool) if "parse_ok" in answers.columns else True
    a_items = answers[ok & (answers["persona_id"] != PLAIN_PERSONA_ID)]
    if a_items.empty:
        a_items = answers[ok]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        item = compare_item_distributions(a_items, human["ratings"])
    hs = human["scores"]
    if "rater" in hs.columns:
        hs = hs[hs["rater"]]
    pop = variance_ratio(pop_units, hs, family, n_boot=n_boot, seed=seed).merge(
        value_hierarchy(pop_units, hs, family), on=["family", "dimension"]
    )
    n_complete = complete_scores(pop_units, family)["participant"].nunique()
    if n_complete >= 3:
        structure = value_structure(pop_units, hs, family)
    else:
        structure = pd.DataFrame()
        structure.attrs["note"] = (
            f"only {n_complete} persona(s) with a complete {family} profile: value structure "
            "needs at least 3"
        )
    if ess_scores is None or group_col is None:
        group = pd.DataFrame()
        group.attrs["note"] = (
            "group level not computed: the released Value Portrait data have no demographic "
            "columns; supply ESS microdata (vp_stats.ess.load_ess) and group_col / group_a"
        )
    else:
        hum = ess_scores
        if group_col == "age" and pd.api.types.is_numeric_dtype(hum["age"]):
            hum = hum.assign(age=age_band(hum["age"].to_numpy()))
        if group_a is None:
            raise ValueError("group_a is required for the group-level comparison")
        base = prof[prof["persona_id"] == PLAIN_PERSONA_ID] if group_b is None else None
        if group_b is None and not has_plain:
            raise ValueError("group_b=None compares with the plain model, which was not run")
        group = group_gap_comparison(
            personas_only,
            hum,
            group_col,
            group_a,
            group_b,
            persona_baseline=base,
            family=family,
            weight_col=weight_col if weight_col in hum.columns else None,
            n_boot=n_boot,
            seed=seed,
            persona_unit_col="persona_id",
        )
    out = {"item": item, "population": pop, "structure": structure, "group": group}
    out["profiles"] = prof
    if has_plain:
        out["shifts"] = persona_shifts(prof, family)
    return out


def read_answer_file(path: str | os.PathLike) -> pd.DataFrame:
    """Read and validate a persona answer CSV (the answer table of :func:`run_personas`).

    Raises
    ------
    vp_stats.datasets.DataFormatError
        (a ``ValueError``) naming file, data row and column: a missing file or
        column, a non-integer item id, a rating outside 1..6.

    Examples
    --------
    >>> import tempfile, os, pandas as pd
    >>> p = os.path.join(tempfile.mkdtemp(), "a.csv")
    >>> pd.DataFrame({"persona_id": ["x"], "portrait_id": [1001], "option_id": [1],
    ...               "rating": [7]}).to_csv(p, index=False)
    >>> read_answer_file(p)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    vp_stats.datasets.DataFormatError: ...a.csv: record data row 1 (line 2), field 'rating': rating 7.0 is outside 1..6
    """
    from pathlib import Path

    from vp_stats.datasets import DataFormatError

    file = Path(path)
    if not file.is_file():
        raise DataFormatError(file, None, None, "file not found")
    try:
        df = pd.read_csv(file)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataFormatError(file, None, None, f"not a readable CSV file: {exc}") from exc
    missing = [c for c in ANSWER_FILE_COLUMNS if c not in df.columns]
    if missing:
        raise DataFormatError(
            file, None, missing[0],
            f"missing column(s) {missing}; a persona answer file needs {list(ANSWER_FILE_COLUMNS)} "
            "(the answer table written by run_personas)",
        )  # fmt: skip
    if df.empty:
        raise DataFormatError(file, None, None, "no data rows")

    def where(i):
        return f"data row {i + 1} (line {i + 2})"

    if df["persona_id"].isna().any():
        i = int(np.flatnonzero(df["persona_id"].isna().to_numpy())[0])
        raise DataFormatError(file, where(i), "persona_id", "missing persona id")
    df["persona_id"] = df["persona_id"].astype(str)
    for col in ("portrait_id", "option_id"):
        x = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(x) | (x != np.round(x))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataFormatError(
                file, where(i), col, f"{df[col].iloc[i]!r} is not an integer item id"
            )
        df[col] = x.astype(int)
    r = pd.to_numeric(df["rating"], errors="coerce")
    nonnum = r.isna() & df["rating"].notna()
    if nonnum.any():
        i = int(np.flatnonzero(nonnum.to_numpy())[0])
        raise DataFormatError(
            file, where(i), "rating", f"rating {df['rating'].iloc[i]!r} is not a number"
        )
    out_of = r.notna() & ((r < schema.LIKERT_MIN) | (r > schema.LIKERT_MAX))
    if out_of.any():
        i = int(np.flatnonzero(out_of.to_numpy())[0])
        raise DataFormatError(
            file, where(i), "rating", f"rating {float(r.iloc[i])!r} is outside 1..6"
        )
    df["rating"] = r
    if "parse_ok" in df.columns:
        df["parse_ok"] = df["parse_ok"].astype(str).str.lower().isin(["true", "1", "yes"])
        df.loc[df["rating"].isna(), "parse_ok"] = False
    else:
        df["parse_ok"] = df["rating"].notna()
    return df


def compare_file(
    answers_path: str | os.PathLike,
    *,
    ess_path: str | os.PathLike | None = None,
    group_col: str | None = None,
    group_a: object | None = None,
    group_b: object | None = None,
    family: str = "pvq",
    n_boot: int = 1000,
    seed: int = 0,
    data_dir: str | os.PathLike | None = None,
) -> dict[str, pd.DataFrame]:
    """``vp-stats personas compare``: a persona answer CSV -> the comparison tables.

    Reads the answer file (:func:`read_answer_file`), the Value Portrait human
    reference (:func:`value_portrait_reference`), and, when ``ess_path`` is
    given, ESS microdata (:func:`vp_stats.ess.load_ess`) for the group level;
    returns :func:`compare_personas`'s dict (``item``, ``population``,
    ``structure``, ``group``, ``profiles``, ``shifts``).
    """
    from vp_stats import datasets

    answers = read_answer_file(answers_path)
    ess_scores = None
    if ess_path is not None:
        from vp_stats import ess

        ess_scores = ess.load_ess(ess_path)
        if group_col is None:
            raise ValueError("an ESS file was given without group_col (e.g. 'gender')")
        if group_col not in answers.columns:
            raise ValueError(
                f"{answers_path}: the answers have no persona attribute column {group_col!r} "
                f"(columns: {list(answers.columns)})"
            )
    return compare_personas(
        answers,
        datasets.load_published_correlations(data_dir=data_dir),
        human=value_portrait_reference(data_dir),
        ess_scores=ess_scores,
        group_col=group_col,
        group_a=group_a,
        group_b=group_b,
        family=family,
        n_boot=n_boot,
        seed=seed,
    )


#: Persona grids of :func:`run_persona_study`.
STUDY_GRIDS = ("notebook", "paper")


def study_personas(grid: str = "notebook") -> pd.DataFrame:
    """Persona table of a study grid.

    ``"notebook"``: four of the paper's single-attribute personas, gender
    (male, female) and the youngest and oldest age bands (18-29, 60 and
    older), small enough for a laptop CPU; ``"paper"``: all 25
    single-attribute personas (:func:`paper_personas`).

    Examples
    --------
    >>> study_personas().system_prompt.tolist()[:2]
    ['**Your Profile**: Your gender is male.', '**Your Profile**: Your gender is female.']
    """
    if grid == "paper":
        return paper_personas()
    if grid == "notebook":
        t = paper_personas()
        keep = t["level"].isin(["male", "female", "18-29", "60 and older"])
        return t[keep & t["attribute"].isin(["gender", "age"])].reset_index(drop=True)
    raise ValueError(f"grid must be one of {STUDY_GRIDS}, got {grid!r}")


def _wide_attributes(tab: pd.DataFrame) -> pd.DataFrame:
    """A paper_personas-style table (attribute, level) with one column per attribute."""
    if {"attribute", "level"} <= set(tab.columns):
        wide = tab.pivot(index="persona_id", columns="attribute", values="level").reset_index()
        wide.columns.name = None
        return tab[["persona_id", "system_prompt", "attribute", "level"]].merge(
            wide, on="persona_id"
        )
    return tab


def run_persona_study(
    out_dir: str | os.PathLike = "data/processed/personas",
    *,
    grid: str = "paper",
    n_per_value: int | None = None,
    variants: Sequence[str] = ("v1",),
    mode: str = "logprobs",
    backend=None,
    cache=None,
    n_boot: int = 1000,
    seed: int = 0,
    progress: bool = True,
) -> dict[str, pd.DataFrame]:
    """Run a persona grid on an LLM and write the answers and comparison tables.

    The make target for the full grid calls
    ``run_persona_study("data/processed/personas", grid="paper")``: the paper's
    25 single-attribute personas plus the plain model on all 520 items, prompt
    variant ``v1``, logprobs mode, with the default local model
    (SmolLM2-135M-Instruct). Notebook 03 runs ``grid="notebook",
    n_per_value=2``. Answers are cached in ``out_dir/answers.sqlite``, so a
    killed run resumes.

    Writes ``answers.csv``, ``profiles.csv``, ``shifts.csv``,
    ``item_comparison.csv``, ``population.csv`` and ``structure.csv`` to
    ``out_dir``; returns the tables (``answers`` and those of
    :func:`compare_personas`).
    """
    from pathlib import Path

    from vp_stats import datasets
    from vp_stats.llm import runner

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if backend is None:
        backend = runner.LlamaCppBackend()
    if cache is None:
        cache = out / "answers.sqlite"
    corr = datasets.load_published_correlations()
    items = datasets.load_items()
    if n_per_value is not None:
        items = select_persona_items(items, corr, n_per_value)
    tab = _wide_attributes(study_personas(grid))
    ans = run_personas(
        backend, tab.drop(columns=["attribute", "level"], errors="ignore"), items,
        variants=variants, mode=mode, cache=cache, progress=progress,
    )  # fmt: skip
    ans.to_csv(out / "answers.csv", index=False)
    res = compare_personas(ans, corr, n_boot=n_boot, seed=seed)
    res["profiles"].to_csv(out / "profiles.csv", index=False)
    if "shifts" in res:
        res["shifts"].to_csv(out / "shifts.csv", index=False)
    res["item"].to_csv(out / "item_comparison.csv", index=False)
    res["population"].to_csv(out / "population.csv", index=False)
    res["structure"].to_csv(out / "structure.csv", index=False)
    return {"answers": ans, **res}
