"""Stage 5, health: what the results of a run mean over time. Pure functions, no I/O.

- :mod:`monitor.health.states`: the state machine across runs (``failing`` -> ``dead``,
  ``recovered``, ``moved``, ``blocked``) and degraded runs (SPEC §6);
- :mod:`monitor.health.changes`: whether a page changed against its reviewed baseline (SPEC §7);
- :mod:`monitor.health.anchors`: when a missing anchor is an ``anchor_missing`` event (SPEC §6).

The store applies these decisions to the stored states in one transaction per run
(:mod:`monitor.store.apply`).
"""

from monitor.health.anchors import anchor_transition
from monitor.health.states import Health, HealthPolicy, is_degraded, transition
from monitor.vocabulary import EVENT_KINDS, STATES, EventDraft

__all__ = ["EVENT_KINDS", "STATES", "EventDraft", "Health", "HealthPolicy", "anchor_transition",
           "is_degraded", "transition"]
