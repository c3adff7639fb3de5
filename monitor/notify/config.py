"""The notification settings and outcomes as values.

:class:`NotifyConfig` mirrors SPEC §4 ``[notify]`` and ``[notify.github]`` (plus ``min_score``,
``timeout`` and ``retry_delay``, see below); ``env`` is the process environment, injected so that
tests (and ``monitor serve``) choose what ``GITHUB_TOKEN`` and ``urls_env`` read.
:class:`ChannelOutcome` is what happened on one channel; :class:`Delivery` gathers them with the
decision. None of them ever holds a channel URL or a token.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from monitor.notify.policy import Decision


@dataclass(frozen=True)
class NotifyConfig:
    """``[notify]`` and ``[notify.github]`` (SPEC §4, §13).

    - ``urls``: apprise URLs (``mailto://``, ``slack://``, ``ntfy://``, ``json://``, ...);
    - ``urls_env``: name of an environment variable holding more apprise URLs, space-separated
      ("" for none); read from ``env``;
    - ``when``: ``action`` | ``always`` | ``never`` (:mod:`monitor.notify.policy`);
    - ``min_suggestions``: new suggestions that make a run worth a message (0: never);
    - ``min_score``: the score a new suggestion needs to count toward ``min_suggestions``;
    - ``github_repo``: ``owner/name`` of the rolling issue ("" for none);
    - ``github_api_url``: the REST API root (GitHub Enterprise: ``https://HOST/api/v3``);
    - ``github_label``: the label that marks the rolling issue (no comma);
    - ``env``: the environment (``GITHUB_TOKEN``, ``urls_env``);
    - ``timeout``: seconds for one GitHub request (connect, and each read);
    - ``retry_delay``: seconds before the one retry of a failed channel or request.
    """

    urls: Sequence[str] = ()
    urls_env: str = ""
    when: str = "action"
    min_suggestions: int = 1
    min_score: float = 0.0
    github_repo: str = ""
    github_api_url: str = "https://api.github.com"
    github_label: str = "monitor"
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    timeout: float = 20.0
    retry_delay: float = 2.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "urls", tuple(self.urls))
        object.__setattr__(self, "env", MappingProxyType(dict(self.env)))

    def __repr__(self) -> str:
        return (f"NotifyConfig({len(self.channel_urls())} channel(s), when={self.when!r}, "
                f"github_repo={self.github_repo!r})")

    @classmethod
    def from_settings(cls, settings: Any, env: Mapping[str, str]) -> NotifyConfig:
        """``[notify]``, ``[notify.github]`` and ``arxiv.min_score`` (a suggestion counts toward
        ``min_suggestions`` when it was worth suggesting at all) of ``settings``."""
        return cls(urls=settings["notify.urls"], urls_env=settings["notify.urls_env"],
                   when=settings["notify.when"], min_suggestions=settings["notify.min_suggestions"],
                   min_score=settings["arxiv.min_score"],
                   github_repo=settings["notify.github.repo"],
                   github_api_url=settings["notify.github.api_url"],
                   github_label=settings["notify.github.label"], env=env,
                   timeout=min(float(settings["http.timeout"]), 60.0))

    @property
    def configured(self) -> bool:
        """True when there is any channel (a URL or the GitHub issue)."""
        return bool(self.channel_urls() or self.github_repo)

    def channel_urls(self) -> list[str]:
        """``urls`` then the URLs in ``env[urls_env]``, in order, without repeats."""
        extra = self.env.get(self.urls_env, "").split() if self.urls_env else []
        return list(dict.fromkeys(u.strip() for u in [*self.urls, *extra] if u.strip()))

    def github_token(self) -> str:
        """``GITHUB_TOKEN`` from ``env`` ("" when unset)."""
        return self.env.get("GITHUB_TOKEN", "").strip()


@dataclass(frozen=True)
class ChannelOutcome:
    """What happened on one channel.

    - ``channel``: what we show of it: ``mailto://smtp.example.org``, ``slack://…`` (scheme and
      host only, :func:`monitor.notify.safe.channel_display`) or ``github:owner/name``;
    - ``ok``: True when delivered (or, for the issue, when it is as it should be);
    - ``detail``: what was done: ``sent``, ``test sent``, ``created issue #7``,
      ``updated issue #7``, ``closed issue #7``, ``no open issue``, ``failed``;
    - ``error``: why it failed, one line without any secret ("" when ok);
    - ``attempts``: tries made (1, or 2 after the one retry);
    - ``url``: a link to show (the issue's ``html_url``), "" when none.
    """

    channel: str
    ok: bool
    detail: str
    error: str = ""
    attempts: int = 1
    url: str = ""

    def line(self) -> str:
        """One line for the log and the run note: ``json://127.0.0.1: failed (HTTP 500)``."""
        text = f"{self.channel}: {self.detail}"
        return f"{text} ({self.error})" if self.error else text


@dataclass(frozen=True)
class Delivery:
    """The result of :func:`monitor.notify.deliver`: the ``decision`` (None in test mode) and
    one :class:`ChannelOutcome` per channel tried (the GitHub issue last)."""

    decision: Decision | None
    outcomes: tuple[ChannelOutcome, ...] = ()

    @property
    def ok(self) -> bool:
        """True when no channel failed."""
        return all(o.ok for o in self.outcomes)

    def failures(self) -> list[ChannelOutcome]:
        """The channels that failed."""
        return [o for o in self.outcomes if not o.ok]

    def line(self) -> str:
        """One log line: ``notify: 2 went dead: mailto://host: sent; github:o/r: updated ...``."""
        why = self.decision.reason if self.decision else "test"
        done = "; ".join(o.line() for o in self.outcomes) or "nothing sent"
        return f"notify ({why}): {done}"

    def note(self) -> str:
        """The run note when a channel failed ("" when none did)."""
        failed = self.failures()
        return "notification failed: " + "; ".join(o.line() for o in failed) if failed else ""
