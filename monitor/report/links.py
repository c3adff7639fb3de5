"""Safe links: only http(s) URLs ever become links (SPEC §9)."""

from __future__ import annotations

from urllib.parse import urlsplit


def safe_href(url: str | None) -> str | None:
    """``url`` when its scheme is http or https, else None (``javascript:``, ``data:``...)."""
    if not url:
        return None
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return None
    return url.strip() if scheme in ("http", "https") else None
