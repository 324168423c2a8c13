"""Command line interface: ``vp-stats <command>``; ``vp-stats --help`` lists them.

Every command is a thin wrapper over package functions, so a notebook, a
script and the shell give the same tables. The shared app, options and the
error handling live in :mod:`vp_stats.cli._common`; each command group has its
own module (``commands`` for the Value Portrait core, ``reliability``,
``personas``, ``compass``, ``svo``), registered on import.
"""

from __future__ import annotations

import sys

from vp_stats.cli import commands, compass, personas, reliability, structure, svo, versions  # noqa: F401  (register the commands)
from vp_stats.cli._common import app

__all__ = ["app", "main"]


def main() -> None:  # console-script entry point
    """Run the CLI."""
    try:
        app()
    except BrokenPipeError:  # e.g. `vp-stats ... | head`
        sys.exit(0)


if __name__ == "__main__":
    main()

