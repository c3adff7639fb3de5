"""Site-aware probes (SPEC §7): a registry of host pattern -> probe, one module per site.

``youtube`` (oEmbed), ``arxiv`` (one batched API query), ``github`` (REST API); ``wayback``
suggests replacements for failing resources and is called by the pipeline, not per host.
See :mod:`monitor.sites.base` for the protocol.
"""

from monitor.sites import arxiv, github, youtube
from monitor.sites.base import (
    SITES,
    ProbeContext,
    ProbeResult,
    Site,
    prepare,
    register,
    site_events,
    site_for,
)

__all__ = ["SITES", "ProbeContext", "ProbeResult", "Site", "arxiv", "github", "prepare",
           "register", "site_events", "site_for", "youtube"]
