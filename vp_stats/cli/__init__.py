"""Command line interface: ``vp-stats <command>``; ``vp-stats --help`` lists them.

Every command is a thin wrapper over package functions, so a notebook, a
script and the shell give the same tables. The shared app, options and the
error handling live in :mod:`vp_stats.cli._common`; each command group has its
own module (``commands`` for the Value Portrait core, ``reliability``,
``personas``, ``compass``, ``svo``; ``measurement`` adds GRM and DIF to ``structure``),
registered on import.
"""

from __future__ import annotations

import sys

from vp_stats.cli import (  # noqa: F401  (importing the modules registers the commands)
    commands,
    compass,
    measurement,
    personas,
    pivot,
    reliability,
    runs,
    structure,
    svo,
    versions,
)
from vp_stats.cli._common import app

__all__ = ["app", "main"]


def main() -> None:  # console-script entry point
    """Run the CLI: exit 0 on success, 2 for bad usage or input, 1 for a failed run.

    An unexpected exception (a bug) is reported in one line with its type, exit 1;
    ``VP_STATS_DEBUG=1`` shows the traceback.
    """
    import os

    from vp_stats.errors import DataError
    from vp_stats.redact import redact

    try:
        app()
    except BrokenPipeError:  # e.g. `vp-stats ... | head`
        sys.exit(0)
    except KeyboardInterrupt:
        print(
            "error: interrupted; rerun the same command to resume (finished answers are cached)",
            file=sys.stderr,
        )
        sys.exit(130)
    except (DataError, OSError) as exc:
        where = f"{exc.filename}: " if isinstance(exc, OSError) and exc.filename else ""
        what = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        print(f"error: {where}{redact(what)}", file=sys.stderr)
        sys.exit(2)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: no traceback reaches a user
        if os.environ.get("VP_STATS_DEBUG"):
            raise
        print(
            f"error: internal error ({type(exc).__name__}: {redact(exc)}); "
            "this is a bug in vp-stats; rerun with VP_STATS_DEBUG=1 to see the traceback",
            file=sys.stderr,
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
