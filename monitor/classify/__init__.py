"""Classification: pure rules from a fetch result to an :class:`Outcome` (SPEC §6)."""

from monitor.classify.rules import Outcome, classify, is_network_error

__all__ = ["Outcome", "classify", "is_network_error"]
