"""``python -m vp_stats.cli``: the same command line as ``vp-stats``."""

from vp_stats.cli import main

if __name__ == "__main__":
    main()
