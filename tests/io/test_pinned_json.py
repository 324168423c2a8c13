"""The pinned averaged outputs hold no repeated JSON key, so their parse may skip that check.

:func:`vp_stats.io.averaging.load_average_outputs` reads the registered upstream files (each
verified by its sha256) with ``check_duplicate_keys=False``; this test is what makes that sound:
every one of those files parses to the same records with and without the check.
"""

from __future__ import annotations

import json

import pytest

from vp_stats.errors import DataFormatError
from vp_stats.io import averaging, datasets


def test_pinned_averaged_files_have_no_repeated_key():
    rels = [
        r
        for r in datasets.registered(datasets.AVERAGE_OUTPUTS_DIR + "/")
        if r.endswith("_averaged_results.json")
    ]
    assert len(rels) == 34
    for rel in rels:
        path = datasets.fetch(rel)
        assert datasets.read_json(path) == datasets.read_json(path, check_duplicate_keys=False)


def test_the_check_still_runs_on_other_folders(tmp_path):
    rec = '{"portrait_id": 1003, "option_id": 1, "option_id": 2}'
    f = tmp_path / "m_averaged_results.json"
    f.write_text(f"[{rec}]")
    assert json.loads(f"[{rec}]")[0]["option_id"] == 2  # what the parser alone would keep
    with pytest.raises(DataFormatError, match="duplicate key"):
        averaging.load_average_outputs(directory=tmp_path)
