"""Persona definitions: attributes, rendering into system prompts, persona tables.

Persona definitions (no statistics, no LLM, no
files): validating and ordering a persona's attributes, rendering them with a
template, stable persona ids, persona tables and grids, the paper's 25
single-attribute personas, seeded sampling of persona populations and the
paper's age bands.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np
import pandas as pd

from vp_stats import tables

__all__ = [
    "ATTRIBUTE_ORDER",
    "DEFAULT_TEMPLATE",
    "PAPER_PERSONA_LEVELS",
    "PAPER_PERSONAS",
    "PLAIN_PERSONA_ID",
    "canonical_attributes",
    "render_persona",
    "persona_id",
    "persona_table",
    "paper_personas",
    "persona_grid",
    "sample_personas",
    "age_band",
    "STEERING_FORMATS",
    "render_steering",
]

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


#: ``persona_id`` of the plain model (no system prompt).
PLAIN_PERSONA_ID = "plain"


# --------------------------------------------------------------------------- rendering


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


# --------------------------------------------------------------------------- persona tables


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
            }
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
    weight: str | None = None,
    seed: int = 0,
    template: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Draw a persona population matching a reference population (seeded).

    Exactly one of:

    * ``margins``: ``{attribute: {level: probability}}``; attributes are drawn
      independently, so a combination has probability = product of its margins;
    * ``reference``: a table of real people (e.g. ESS respondents) with the
      ``attributes`` columns and an optional ``weight`` column (survey weights);
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
                    f"margins of {a!r} must be non-negative numbers with a positive sum, got "
                    f"{dict(m)!r}"
                )
            idx = rng.choice(len(lv), size=n, p=p / p.sum())
            drawn[a] = np.asarray(lv, dtype=object)[idx]
        combos = [{a: drawn[a][i] for a in drawn} for i in range(n)]
    else:
        attributes = (
            list(attributes)
            if attributes is not None
            else [c for c in reference.columns if c != weight]
        )
        tables.require(reference, [*attributes, *([weight] if weight else [])], "reference")
        ref = reference.dropna(subset=attributes)
        if len(ref) == 0:
            raise ValueError("reference has no row with all attributes present")
        if weight is not None:
            w = ref[weight].to_numpy(dtype=float)
            if np.any(~np.isfinite(w) | (w < 0)) or w.sum() <= 0:
                raise ValueError(f"weights in {weight!r} must be non-negative with a positive sum")
            p = w / w.sum()
        else:
            p = None
        idx = rng.choice(len(ref), size=n, p=p)
        vals = ref[attributes].to_numpy(dtype=object)[idx]
        combos = [dict(zip(attributes, row, strict=True)) for row in vals]
    out = persona_table(combos, template)
    out.insert(0, "draw", np.arange(n))
    return out


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


# --------------------------------------------------------------------------- steering formats

#: How a persona's description is given to the model (Santurkar et al. 2023, "Whose
#: opinions do language models reflect?", ICML, section 4.2: QA, BIO and PORTRAY
#: contexts): ``attributes`` (the Value Portrait paper's profile lines,
#: :func:`render_persona`), ``qa`` (each attribute as a survey question the persona has
#: answered), ``bio`` (a first-person description) and ``portray`` (an instruction to
#: answer as such a person).
STEERING_FORMATS = ("attributes", "qa", "bio", "portray")

_QA_QUESTIONS = {
    "gender": "What is your gender?",
    "age": "What is your age group?",
    "education": "What is the highest level of education you have completed?",
    "country": "In which country do you live?",
    "income": "What is your income level?",
    "religion": "What is your religion?",
    "political_orientation": "What is your political orientation?",
}
_BIO_SENTENCES = {
    "gender": "I am {value}.",
    "age": "My age group is {value}.",
    "education": "The highest level of education I have completed is {value}.",
    "country": "I live in {value}.",
}
_PORTRAY_CLAUSES = {
    "gender": "your gender is {value}",
    "age": "your age group is {value}",
    "education": "the highest level of education you have completed is {value}",
    "country": "you live in {value}",
}
_BIO_PREFIX = (
    "Below you will be asked to provide a short description of yourself and then answer "
    "some questions.\n\nDescription: "
)


def render_steering(attributes: Mapping[str, object], steering: str = "attributes") -> str:
    """A persona's description in one of the :data:`STEERING_FORMATS`.

    OpinionQA's three steering contexts (Santurkar et al. 2023, section 4.2 and appendix
    Table 5), worded for demographic attributes: ``qa`` renders each attribute as a
    question and the persona's answer (``Question: What is your gender?`` /
    ``Answer: female``), ``bio`` as a first-person description introduced as OpinionQA's
    BIO context is, ``portray`` as one instruction ("Answer the following questions as
    if ..."). Known attributes (gender, age, education, country ...) have their own
    wording; others read "What is your <attribute>?" / "My <attribute> is <value>.".
    ``attributes`` is :func:`render_persona` (the Value Portrait paper's profile).

    Examples
    --------
    >>> a = {"gender": "female", "age": "18-29"}
    >>> print(render_steering(a, "qa"))
    Question: What is your gender?
    Answer: female
    <BLANKLINE>
    Question: What is your age group?
    Answer: 18-29
    >>> render_steering(a, "bio").split("Description: ")[1]
    'I am female. My age group is 18-29.'
    >>> render_steering(a, "portray")
    'Answer the following questions as if your gender is female and your age group is 18-29.'
    >>> render_steering(a) == render_persona(a)
    True
    """
    if steering not in STEERING_FORMATS:
        raise ValueError(f"steering must be one of {STEERING_FORMATS}, got {steering!r}")
    if steering == "attributes":
        return render_persona(attributes)
    attrs = canonical_attributes(attributes)
    if not attrs:
        return ""

    def name(k):
        return k.replace("_", " ")

    if steering == "qa":
        return "\n\n".join(
            f"Question: {_QA_QUESTIONS.get(k, f'What is your {name(k)}?')}\nAnswer: {v}"
            for k, v in attrs.items()
        )
    if steering == "bio":
        return _BIO_PREFIX + " ".join(
            _BIO_SENTENCES.get(k, f"My {name(k)} is {{value}}.").format(value=v)
            for k, v in attrs.items()
        )
    clauses = [
        _PORTRAY_CLAUSES.get(k, f"your {name(k)} is {{value}}").format(value=v)
        for k, v in attrs.items()
    ]
    joined = clauses[0] if len(clauses) == 1 else ", ".join(clauses[:-1]) + " and " + clauses[-1]
    return f"Answer the following questions as if {joined}."
