"""Sending a message to apprise channels, one outcome per channel.

apprise (https://github.com/caronc/apprise, docs at https://appriseit.com/): each URL is one
``apprise.Apprise`` object, so each channel gets its own outcome. The body is given as Markdown
(``body_format="markdown"``) and apprise converts it to each service's own format (HTML for
e-mail, plain text for SMS-like services, Markdown where the service reads it). A channel that
fails is tried once more after ``retry_delay`` seconds.

**Logging.** apprise logs to the ``apprise`` logger, and some of its lines carry secrets: the
``json://`` plugin logs the full POST URL at DEBUG (a webhook token in its path), e-mail logs
the user name, and requests/urllib3 log request paths. While a channel is sent, the ``apprise``,
``urllib3`` and ``requests_oauthlib`` loggers do not propagate to the application's handlers
(``apprise`` is set to DEBUG meanwhile, for its "Socket Exception" details); apprise's last
warning and low-level error are kept only to explain a failure, scrubbed of every part of the
URL (:func:`monitor.notify.safe.scrub`). Our own lines go to the ``monitor.notify`` logger and show
a channel as its scheme and host only.

**Timeouts.** apprise's own: a plugin's ``cto`` (connect) and ``rto`` (read) URL parameters,
4 s by default for HTTP services, 15 s connect for SMTP.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Iterator

from monitor.notify.config import ChannelOutcome
from monitor.notify.message import Message
from monitor.notify.safe import channel_display, scrub, url_secrets

log = logging.getLogger("monitor.notify")
QUIET_LOGGERS = ("apprise", "urllib3", "requests_oauthlib")


class _Keep(logging.Handler):
    """Keeps apprise's warnings and its "Socket Exception" details (never emitted anywhere)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.warnings: list[str] = []
        self.details: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            text = record.getMessage()
            if record.levelno >= logging.WARNING:
                self.warnings.append(text)
            elif text.startswith("Socket Exception:"):
                self.details.append(text.removeprefix("Socket Exception:").strip())

    def why(self) -> str:
        """The last warning and, when apprise logged one, the last low-level error."""
        why = self.warnings[-1].rstrip(".") if self.warnings else "not delivered"
        if self.details:
            errno = re.search(r"\[Errno -?\d+\][^\"')]*", self.details[-1])
            why += f": {errno.group(0) if errno else self.details[-1]}"
        return why


@contextlib.contextmanager
def quiet_libraries() -> Iterator[_Keep]:
    """Stop apprise's (and its HTTP stack's) log records reaching the application's handlers
    while sending; yield a handler that keeps apprise's warnings for the error text."""
    keep = _Keep()
    loggers = [logging.getLogger(name) for name in QUIET_LOGGERS]
    saved = [lg.propagate for lg in loggers]
    level = loggers[0].level
    for lg in loggers:
        lg.propagate = False
    loggers[0].setLevel(logging.DEBUG)  # for the "Socket Exception" details
    loggers[0].addHandler(keep)
    try:
        yield keep
    finally:
        loggers[0].removeHandler(keep)
        loggers[0].setLevel(level)
        for lg, propagate in zip(loggers, saved, strict=True):
            lg.propagate = propagate


def _attempt(url: str, message: Message) -> tuple[bool | None, str]:
    """One try: (True, "") sent, (False, why) failed, (None, why) an unusable URL."""
    import apprise  # imported here: loading its plugins takes a fraction of a second

    with quiet_libraries() as keep:
        try:
            sender = apprise.Apprise()
            if not sender.add(url):
                return None, "not a usable apprise URL (unknown scheme or missing part)"
            ok = bool(sender.notify(body=message.body, title=message.title,
                                    body_format=apprise.NotifyFormat.MARKDOWN))
        except Exception as err:  # a plugin bug must not stop the other channels
            return False, f"apprise raised {type(err).__name__}"
    return ok, "" if ok else keep.why()


def send_one(url: str, message: Message, retry_delay: float = 2.0,
             sent: str = "sent") -> ChannelOutcome:
    """Send ``message`` to one apprise URL, retried once; never raises."""
    channel, secrets = channel_display(url), url_secrets(url)
    attempts, why = 0, ""
    for attempts in (1, 2):
        ok, why = _attempt(url, message)
        if ok:
            log.info("notify: %s: %s", channel, sent)
            return ChannelOutcome(channel, True, sent, attempts=attempts)
        if ok is None:
            break
        if attempts == 1 and retry_delay > 0:
            time.sleep(retry_delay)
    error = scrub(why, secrets)
    log.warning("notify: %s: failed (%s)", channel, error)
    return ChannelOutcome(channel, False, "failed", error, attempts)


def send_all(urls: list[str], message: Message, retry_delay: float = 2.0,
             sent: str = "sent") -> list[ChannelOutcome]:
    """Send ``message`` to every URL in order; one outcome each."""
    return [send_one(url, message, retry_delay, sent) for url in urls]
