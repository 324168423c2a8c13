"""Instruments: the questionnaires and persona definitions that are put to people and models.

PVQ-21 and BFI-10 keys and scoring (:mod:`~vp_stats.instruments.pvq`,
:mod:`~vp_stats.instruments.bfi`), the SVO slider measure (:mod:`~vp_stats.instruments.svo`)
and demographic personas (:mod:`~vp_stats.instruments.personas`). Imports only the contracts.
"""

__all__ = ["bfi", "personas", "pvq", "svo"]
