"""Shared test set-up: the tests folder is importable, and fixtures every test module may use.

Helper modules of the tests (``r_reference``, ``fault_server``) are imported by name. The test
tree mirrors the package (``tests/stats`` for ``vp_stats/stats`` ...); fixtures used by more than
one module live here.
"""

import copy
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(scope="session")
def make_study():
    """A maker of seeded synthetic studies with known truth (``simulate.synthetic_study``).

    ``make_study(n_participants=80, n_items=60, seed=2, ...)``; a study is generated once per
    session for each set of arguments, and every call returns its own deep copy.
    """
    from vp_stats.stats import simulate

    made = {}

    def make(**kwargs):
        key = repr(sorted(kwargs.items()))
        if key not in made:
            made[key] = simulate.synthetic_study(**kwargs)
        return copy.deepcopy(made[key])

    return make
