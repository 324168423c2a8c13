"""The LLM layer: backends, the answer cache, prompts, parsing and the runner.

Putting prompts to a model (local llama.cpp or an OpenAI-compatible server), caching
answers in SQLite and parsing them into the answer tables of :mod:`vp_stats.schema`.
Imports the contracts, :mod:`vp_stats.instruments` and :mod:`vp_stats.stats`; never
:mod:`vp_stats.io` or the studies.
"""

__all__ = [
    "backends",
    "cache",
    "calls",
    "hvae",
    "local",
    "openai_backend",
    "parse",
    "prompts",
    "questionnaires",
    "retry",
    "runner",
    "templates",
]
