"""Medium (``medium.com`` and the custom domains of its publications): a deleted story or
account answers 200 with a page saying so (evidence:
``../shared/fixtures/soft404/MARKERS_EVIDENCE.md``). The markers apply on any host, since custom
domains are unknown in advance; no probe.
"""

from __future__ import annotations

from monitor.sites.base import Site, body_marker

MARKERS = (
    body_marker("medium_story_deleted", "soft_404", "medium story",
                r"the author deleted this medium story"),
    body_marker("medium_account_deleted", "soft_404", "medium account",
                r"the user deleted their medium account"),
)

SITE = Site("medium", ("medium.com",), markers=MARKERS)
