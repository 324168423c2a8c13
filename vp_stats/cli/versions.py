"""``vp-stats compare-versions``: validity of two versions of the same items (wordings, orders)."""

from __future__ import annotations
