"""Shared pytest fixtures: the simulated web (tests/simweb.py, SPEC §11) and the database
(tests/dbutil.py: SQLite, or PostgreSQL when MONITOR_TEST_DATABASE_URL is set).

No test reaches the Hugging Face Hub: ``HF_HUB_OFFLINE=1`` is set here, before anything imports
huggingface_hub (which reads it once, on import), and ``HF_HOME`` points at an empty folder so a
model in the developer's own cache cannot change what the tests see (tests that need the model
pass ``arxiv.model_path``, see tests/semantic_helpers.py)."""

import os
import tempfile

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="monitor-tests-hf-")

from tests.browser import browser  # noqa: E402 - after the environment above
from tests.dbutil import db, db_url  # noqa: E402
from tests.simweb import fake_sleep, fetch_options, simweb, simweb_server  # noqa: E402

__all__ = ["browser", "db", "db_url", "fake_sleep", "fetch_options", "simweb", "simweb_server"]
