"""``vp-stats structure``: factor structure of an item set (EFA, CFA)."""

from __future__ import annotations

import typer

from vp_stats.cli._common import app

structure_app = typer.Typer(no_args_is_help=True, help="Factor structure of an item set: exploratory (EFA) and confirmatory (CFA) factor analysis.")
app.add_typer(structure_app, name="structure")
