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

The package is split by layer (every name is re-exported here, so
``from vp_stats import personas; personas.X`` works for all of them):

- :mod:`vp_stats.personas.define`: persona definitions (attributes, rendering,
  ids, persona tables and grids, the paper's personas, sampling, age bands);
- :mod:`vp_stats.personas.compare`: item- and population-level statistics and
  the scoring of persona answers (DataFrames in, DataFrames out, no files);
- :mod:`vp_stats.personas.gaps`: group-level gaps (:func:`group_gap_comparison`);
- :mod:`vp_stats.personas.study`: orchestration (running an LLM under personas
  and the PVQ-21, the comparison bundle, study folders);
- :mod:`vp_stats.io.personas`: the file formats (answer file reader, study
  folder writer).

Examples
--------
>>> render_persona({"gender": "male"})
'**Your Profile**: Your gender is male.'
>>> render_persona({"political_orientation": "left", "age": "18-29"})
'**Your Profile**: Your age is 18-29. Your political orientation is left.'
>>> len(PAPER_PERSONAS)
25
"""

from vp_stats.io.personas import ANSWER_FILE_COLUMNS, read_answer_file
from vp_stats.personas.compare import (
    ITEM_COMPARISON_COLUMNS,
    compare_item_distributions,
    complete_scores,
    hierarchy_agreement,
    human_reference,
    item_distributions,
    persona_profiles,
    persona_shifts,
    persona_value_profiles,
    runner_answer_columns,
    score_llm_pvq21,
    score_matrix,
    summarise_item_comparison,
    value_correlation_matrix,
    value_hierarchy,
    value_structure,
    variance_ratio,
)
from vp_stats.personas.define import (
    ATTRIBUTE_ORDER,
    DEFAULT_TEMPLATE,
    PAPER_PERSONA_LEVELS,
    PAPER_PERSONAS,
    PLAIN_PERSONA_ID,
    age_band,
    canonical_attributes,
    paper_personas,
    persona_grid,
    persona_id,
    persona_table,
    render_persona,
    sample_personas,
)
from vp_stats.personas.gaps import group_gap_comparison
from vp_stats.personas.humans import (
    HUMAN_GAP_COLUMNS,
    HUMAN_GROUPS,
    HUMAN_SOURCES,
    beside_paper,
    compare_with_humans,
    human_gaps_study,
    human_group_gaps,
    paper_persona_reference,
    persona_bfi10_scores,
    persona_vs_human,
    sapa_scores,
    score_keyed,
)
from vp_stats.personas.study import (
    PVQ21_PARAPHRASES,
    PVQ21_TEMPLATE,
    STUDY_GRIDS,
    compare_file,
    compare_personas,
    pvq21_prompts,
    run_persona_study,
    run_personas,
    run_pvq21,
    select_persona_items,
    study_personas,
    value_portrait_reference,
)

__all__ = [
    # define
    "ATTRIBUTE_ORDER", "DEFAULT_TEMPLATE", "PAPER_PERSONA_LEVELS", "PAPER_PERSONAS",
    "PLAIN_PERSONA_ID", "canonical_attributes", "render_persona", "persona_id", "persona_table",
    "paper_personas", "persona_grid", "sample_personas", "age_band",
    # compare
    "item_distributions", "human_reference", "ITEM_COMPARISON_COLUMNS",
    "compare_item_distributions", "summarise_item_comparison", "persona_profiles",
    "persona_value_profiles", "runner_answer_columns", "persona_shifts", "score_llm_pvq21",
    "score_matrix", "variance_ratio", "value_hierarchy", "hierarchy_agreement", "complete_scores",
    "value_correlation_matrix", "value_structure",
    # gaps
    "group_gap_comparison",
    # humans
    "HUMAN_SOURCES", "HUMAN_GROUPS", "HUMAN_GAP_COLUMNS", "score_keyed", "sapa_scores",
    "human_group_gaps", "persona_bfi10_scores", "persona_vs_human", "paper_persona_reference",
    "beside_paper", "human_gaps_study", "compare_with_humans",
    # study
    "STUDY_GRIDS", "study_personas", "select_persona_items", "run_personas", "PVQ21_PARAPHRASES",
    "PVQ21_TEMPLATE", "pvq21_prompts", "run_pvq21", "value_portrait_reference",
    "compare_personas", "compare_file", "run_persona_study",
    # io
    "ANSWER_FILE_COLUMNS", "read_answer_file",
]  # fmt: skip
