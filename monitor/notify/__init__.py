"""Notifications (SPEC §13): tell the maintainer through apprise channels and one rolling
GitHub issue, only when something needs them.

Data flow, pure in the middle and I/O at the edges::

    Digest (digest.py)  ->  decide (policy.py)  ->  compose (message.py)  ->  send (channels.py)
                                                                          ->  roll_issue (github.py)

:func:`deliver` is the one entry point: call it after the reports are written. It never raises
for a channel's failure: each channel's :class:`ChannelOutcome` says what happened, and no
outcome, log line or message holds a channel URL's credentials or the token.
"""

from __future__ import annotations

import logging

from monitor.notify import channels, github, message
from monitor.notify.config import ChannelOutcome, Delivery, NotifyConfig
from monitor.notify.digest import (
    ACTION_KINDS,
    Digest,
    DigestEvent,
    DigestSuggestion,
    RunInfo,
    digest_from_report,
)
from monitor.notify.message import Message, compose
from monitor.notify.policy import WHEN_VALUES, Decision, decide
from monitor.vocabulary import EVENT_KINDS

log = logging.getLogger("monitor.notify")


def _issue(config: NotifyConfig, digest: Digest, decision: Decision) -> list[ChannelOutcome]:
    if not config.github_repo or decision.issue == "leave":
        return []
    target = github.Target.from_config(config)
    outcome = github.roll_issue(target, decision.issue, message.title(digest),
                                message.issue_body(digest), message.close_comment(digest))
    log.log(logging.INFO if outcome.ok else logging.WARNING, "notify: %s", outcome.line())
    return [outcome]


def _test(config: NotifyConfig) -> Delivery:
    outcomes = channels.send_all(config.channel_urls(), message.test_message(),
                                 config.retry_delay, sent="test sent")
    if config.github_repo:
        outcomes.append(github.check(github.Target.from_config(config)))
    return Delivery(None, tuple(outcomes))


def deliver(config: NotifyConfig, digest: Digest | None, *, test: bool = False) -> Delivery:
    """Notify about ``digest`` as ``config`` says (or, with ``test``, send a test message to
    every channel and check the GitHub token; ``digest`` may then be None).

    Returns the :class:`Delivery`: the decision and one outcome per channel tried. Raises
    ValueError only for a bad ``config.when`` or a missing digest (programming or configuration
    errors), never for a channel.
    """
    if test:
        return _test(config)
    if digest is None:
        raise ValueError("deliver: a digest is needed unless test=True")
    decision = decide(digest, config.when, config.min_suggestions, config.min_score)
    outcomes: list[ChannelOutcome] = []
    if decision.send and config.channel_urls():
        text = message.degraded(digest) if decision.message == "degraded" else compose(digest)
        outcomes = channels.send_all(config.channel_urls(), text, config.retry_delay)
    outcomes += _issue(config, digest, decision)
    return Delivery(decision, tuple(outcomes))


__all__ = ["ACTION_KINDS", "EVENT_KINDS", "WHEN_VALUES", "ChannelOutcome", "Decision", "Delivery",
           "Digest", "DigestEvent", "DigestSuggestion", "Message", "NotifyConfig", "RunInfo",
           "compose", "decide", "deliver", "digest_from_report"]
