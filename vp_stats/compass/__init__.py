"""Value Compass composites: pluralistic alignment scores over a model x dimension table.

Value Compass (Yao, Yi et al., "Value Compass Leaderboard", arXiv 2501.07071,
ACL 2025 demo) scores models on value dimensions (Schwartz's ten basic values
and others, 0-100) and relates a model to a person or a culture through a
composite over the dimensions, weighted by that person's or culture's value
priorities. This module implements the composites as explicit, documented
functions over any tidy score table (``model, dimension, score``) or a wide one
(one row per model, one column per dimension):

* :func:`selected_mean` - plain mean over a chosen set of dimensions (the
  leaderboard score);
* :func:`weighted_composite` - ``sum_k w_k s_k / sum_k |w_k|``;
* :func:`rank_agreement` - tie-corrected Spearman ``rho`` between a model's
  scores and a priority vector, ``match = (rho + 1) / 2``;
* :func:`distance` - ``sum_k |t_k| 1[|s_k| > thr] |s_k - t_k|`` for a target
  ``t`` on the -1..1 scale.

Every composite returns a DataFrame that carries the weights it used (a
``weights`` string column and ``DataFrame.attrs["weights"]``) and their
provenance (a ``weights_source`` string column). Priority vectors come from
:func:`weights_from_participants`, :func:`weights_from_pvq_answers`,
:func:`weights_from_ranks` or :func:`as_weights`. Mismatched dimension sets,
NaN weights and all-zero weights are refused.

Culture vectors: vp-stats ships none. No country priority table whose numbers
could be verified against a documented public source (with citation and
licence) was available when this module was written, and invented numbers
would be worse than none. Build culture vectors from survey microdata you are
licensed to use (e.g. ESS Human Values Scale answers scored with
:func:`vp_stats.instruments.pvq.score_pvq21` and averaged per country with
:func:`weights_from_participants` ``(group_col="country")``).

:func:`match_models` ranks models for one person by all three composites.

Package layout (by layer):

* :mod:`vp_stats.compass.weights` - priority vectors with provenance (statistics);
* :mod:`vp_stats.compass.composites` - score tables, composites, matching (statistics);
* :mod:`vp_stats.compass.study` - released profiles, ``vp-stats compass`` file
  conveniences and study tables (orchestration);
* :mod:`vp_stats.io.compass` - readers of answer and weight files (file layer).

Every name is re-exported here: ``from vp_stats import compass; compass.X``.

References
----------
Yao, J., Yi, X., et al. (2025). Value Compass Leaderboard: A platform for
fundamental and validated evaluation of LLMs values. arXiv 2501.07071.
Spearman, C. (1904); tie correction by average ranks as in
:func:`scipy.stats.spearmanr`.

Examples
--------
>>> import pandas as pd
>>> from vp_stats import compass
>>> scores = pd.DataFrame({"model": ["m1", "m1", "m2", "m2"],
...                        "dimension": ["Power", "Benevolence"] * 2,
...                        "score": [20.0, 80.0, 60.0, 40.0]})
>>> compass.weighted_composite(scores, {"Power": 1, "Benevolence": 3},
...                            weights_source="example")[["model", "weighted_composite"]]
  model  weighted_composite
0    m1                65.0
1    m2                45.0
"""

from vp_stats.compass.composites import (
    CENTRED_PROFILE_CAVEAT,
    distance,
    match_models,
    rank_agreement,
    score_matrix,
    selected_mean,
    weighted_composite,
)

# The `_name as _name` imports: private helpers of the former single module
# vp_stats/compass.py, kept importable from here (no module uses them today).
from vp_stats.compass.composites import _align as _align
from vp_stats.compass.composites import _fmt_weights as _fmt_weights
from vp_stats.compass.composites import _prepare as _prepare
from vp_stats.compass.composites import _py as _py
from vp_stats.compass.composites import _result as _result
from vp_stats.compass.composites import _spearman_rows as _spearman_rows
from vp_stats.compass.study import _profiles_for as _profiles_for
from vp_stats.compass.study import (
    composite_table,
    match_file,
    released_profiles,
    score_file,
    weight_sensitivity,
)
from vp_stats.compass.weights import (
    as_weights,
    participant_groups,
    weights_from_participants,
    weights_from_pvq_answers,
    weights_from_ranks,
)
from vp_stats.io.compass import _read_csv as _read_csv
from vp_stats.io.compass import _where as _where
from vp_stats.io.compass import read_pvq_answers_file, read_weights_file

__all__ = [
    "score_matrix",
    "as_weights",
    "selected_mean",
    "weighted_composite",
    "rank_agreement",
    "distance",
    "weights_from_participants",
    "weights_from_pvq_answers",
    "weights_from_ranks",
    "match_models",
    "CENTRED_PROFILE_CAVEAT",
    "released_profiles",
    "read_pvq_answers_file",
    "read_weights_file",
    "match_file",
    "score_file",
    "composite_table",
    "participant_groups",
    "weight_sensitivity",
]
