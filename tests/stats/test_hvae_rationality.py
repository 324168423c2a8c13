"""Value rationality cannot be won by answering by position or inconsistently.

An all-A run lands at 30.47 degrees, inside the prosocial sector, and is intransitive: under
the default rule it is a miss in the hit rate and left out of the angular distance, and the
chance baseline follows the same rule.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vp_stats.instruments import svo
from vp_stats.llm.backends import GenResult
from vp_stats.stats import hvae
from vp_stats.studies import hvae as hvae_runs

STEPS = [f"item_{i}" for i in range(1, 7)]


def _transcript(patterns, target="prosocial"):
    """One run per pattern (six letters, items 1..6 in order)."""
    rows = [
        {"target": target, "run": r, "seed": r, "step": s, "item": i + 1, "letter": p[i]}
        for r, p in enumerate(patterns)
        for i, s in enumerate(STEPS)
    ]
    return pd.DataFrame(rows)


IDEAL_PROSOCIAL = "".join(
    svo.OPTION_LETTERS[k - 1] for k in svo.IDEAL_PATTERNS[svo.TARGET_IDEAL_TYPES["prosocial"]]
)


def _intransitive_prosocial_pattern() -> str:
    """A prosocial, intransitive pattern that is not one letter throughout."""
    p = svo.enumerate_primary_patterns()
    grid = p[[f"item_{i}" for i in svo.PRIMARY_ITEMS]].to_numpy()
    ok = (
        (p["category_murphy"] == "prosocial").to_numpy()
        & ~p["transitive"].to_numpy(dtype=bool)
        & (grid != grid[:, :1]).any(axis=1)
    )
    row = grid[np.flatnonzero(ok)[0]]
    return "".join(svo.OPTION_LETTERS[k - 1] for k in row)


def test_all_a_for_a_prosocial_target_is_not_a_hit():
    runs = hvae.score_runs(_transcript(["AAAAAA"]))
    r = runs.iloc[0]
    assert r.svo_angle == pytest.approx(30.4655, abs=1e-4) and r.svo_category == "prosocial"
    assert r.category_match and not r.rational and not r.transitive and r.constant_letter
    assert not bool(r.hit) and not pd.isna(r.hit)
    s = hvae.summarise_runs(runs).iloc[0]
    assert s.hit_rate == 0.0 and s.hit_rate_all_runs == 0.0 and s.n_rational == 0
    assert np.isnan(s.mean_abs_angular_distance) and s.irrational == "miss"
    # the other rules, stated and stored the same way
    inc = hvae.summarise_runs(
        hvae.score_runs(_transcript(["AAAAAA"]), irrational="include"), irrational="include"
    )
    assert inc.hit_rate.iloc[0] == 1.0 and inc.irrational.iloc[0] == "include"
    assert inc.mean_abs_angular_distance.iloc[0] == pytest.approx(45 - 30.4655, abs=1e-4)
    exc = hvae.summarise_runs(runs, irrational="exclude")
    assert np.isnan(exc.hit_rate.iloc[0])


def test_a_mixed_set_of_runs_hand_worked():
    odd = _intransitive_prosocial_pattern()
    runs = hvae.score_runs(_transcript([IDEAL_PROSOCIAL, "AAAAAA", odd, IDEAL_PROSOCIAL]))
    assert runs["rational"].tolist() == [True, False, False, True]
    assert runs["category_match"].all() and runs["hit"].tolist() == [True, False, False, True]
    miss = hvae.summarise_runs(runs).iloc[0]
    exclude = hvae.summarise_runs(runs, irrational="exclude").iloc[0]
    include = hvae.summarise_runs(runs, irrational="include").iloc[0]
    assert (miss.hit_rate, exclude.hit_rate, include.hit_rate) == (0.5, 1.0, 1.0)
    assert miss.n_rational == 2 and miss.n_complete == 4
    # the ideal pattern is at 45 degrees: distance 0 over the rational runs
    assert miss.mean_abs_angular_distance == pytest.approx(0.0, abs=1e-9)
    d = np.abs(runs["svo_angle"].to_numpy() - 45.0).mean()
    assert include.mean_abs_angular_distance == pytest.approx(d, rel=1e-12)


def test_chance_baseline_follows_the_rule_numpy_reference():
    # reference: svo.svo_angle / svo_category / transitivity on all 9**6 patterns, plain numpy
    grid = np.indices((9,) * 6).reshape(6, -1).T + 1.0
    angles = np.asarray(svo.svo_angle(grid))
    cats = np.asarray(svo.svo_category(angles, "murphy"), dtype=object)
    transitive = svo.transitivity(grid)["transitive"].to_numpy(dtype=bool)
    rational = transitive & ~np.all(grid == grid[:, :1], axis=1)
    assert (~np.all(grid == grid[:, :1], axis=1)).sum() == 9**6 - 9
    for rule in ("miss", "exclude", "include"):
        b = hvae.chance_baseline(irrational=rule).set_index("target")
        assert (b["irrational"] == rule).all()
        for t in svo.TARGETS:
            hit = cats == t
            if rule == "miss":
                want = (hit & rational).mean()
            elif rule == "exclude":
                want = hit[rational].mean()
            else:
                want = hit.mean()
            assert b.loc[t, "hit_rate"] == pytest.approx(want, abs=1e-12)
            used = angles if rule == "include" else angles[rational]
            d = np.abs(used - svo.TARGET_ANGLES[t]).mean()
            assert b.loc[t, "mean_abs_angular_distance"] == pytest.approx(d, rel=1e-12)
        assert b["share_rational"].iloc[0] == pytest.approx(rational.mean(), abs=1e-12)
    # a random answerer is rational less than half the time
    assert hvae.chance_baseline()["hit_rate"].sum() == pytest.approx(rational.mean())


class _AlwaysA:
    def identity(self):
        return {"backend": "fake", "model": "always-a"}

    def prompt_text(self, messages):
        return repr(messages)

    def generate(self, messages, decoding, grammar=None):
        return GenResult(raw_text="A")


def test_run_grid_stores_the_rule():
    g = hvae_runs.run_grid(_AlwaysA(), targets=["prosocial"], n_runs=2, with_goal=False)
    assert g.irrational == "miss" and g.rule == hvae.irrational_rule("miss")
    assert not g.runs["hit"].any() and not g.runs["rational"].any()
    assert g.runs["category_match"].all() and g.runs["position_bias"].all()
    s = g.summary.iloc[0]
    assert s.hit_rate == 0.0 and s.n_rational == 0 and s.irrational == "miss"
    with pytest.raises(ValueError, match="irrational must be one of"):
        hvae.summarise_runs(
            g.runs.rename(columns={"position_bias": "constant_letter"}), irrational="x"
        )
