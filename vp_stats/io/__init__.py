"""The file layer: every read and write of a user's or a run's files goes through here.

Statistics modules take and return DataFrames and never see a path; study
orchestration (running models, writing output folders) calls these readers and
writers. Submodules are split by domain:

- :mod:`vp_stats.io.tables`: CSV readers of the column contracts in
  :mod:`vp_stats.tables` (ratings, scores, correlations, answers), errors naming
  file, row and field; the atomic output writer.
- :mod:`vp_stats.io.formats`: the formats people have (delimiter and decimal mark detected,
  Excel, SPSS, Stata, R, Qualtrics exports), read for the same contracts;
  :mod:`vp_stats.io.pivot`: long ratings and a selection as a respondents x items matrix, and
  that matrix written for other programs.
- :mod:`vp_stats.io.personas`, :mod:`vp_stats.io.compass`, :mod:`vp_stats.io.svo`:
  the file formats of the persona runs, Value Compass answer and weight files and
  human SVO answer files.

The upstream Value Portrait release (hash-pinned, downloaded with pooch) is read
by :mod:`vp_stats.io.datasets`; a user's own files never pass through its registry.
"""

__all__ = [
    "averaging",
    "cache",
    "compass",
    "datasets",
    "ess",
    "formats",
    "personas",
    "pivot",
    "psychtools",
    "runfile",
    "svo",
    "tables",
    "templates",
]
