"""Stage 3, classification: pure rules from what was fetched to a verdict (SPEC §6, §7).

- :mod:`monitor.classify.rules`: a :class:`~monitor.vocabulary.FetchResult` to an
  :class:`~monitor.vocabulary.Outcome` (error classes, soft 404s, bot walls, moved);
- :mod:`monitor.classify.markers`: the soft-404 and bot-wall markers, as data;
- :mod:`monitor.classify.fingerprint`: a body to its content fingerprint (main text, MinHash);
- :mod:`monitor.classify.content`: what a response says about the content (same, new, first).

No I/O, no clock, no database: every function here is tested without a socket.
"""

from monitor.classify.rules import classify, is_network_error
from monitor.vocabulary import Outcome

__all__ = ["Outcome", "classify", "is_network_error"]
