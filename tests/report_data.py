"""Report data built in memory (no database): realistic runs and hostile strings."""

from __future__ import annotations

from typing import Any

from monitor.report.model import ReportData

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def resource(i: int, state: str, **extra: Any) -> dict[str, Any]:
    """A status object (SPEC §10) for resource ``i`` in ``state``."""
    url = extra.pop("url", f"https://site{i % 40}.test/page/{i}")
    base = {
        "url": url, "canonical_url": url, "title": f"Resource {i}", "kind": "blog",
        "section": f"Section {['I', 'II', 'III', 'IV', 'V'][i % 5]}: Topic", "state": state,
        "http_status": {"ok": 200, "moved": 200, "failing": 404, "dead": 404, "blocked": 403,
                        "unknown": None}[state],
        "error": {"failing": "http_4xx", "dead": "http_4xx", "blocked": "blocked"}.get(state),
        "final_url": f"https://new.test/{i}" if state == "moved" else None,
        "consecutive_failures": 3 if state == "dead" else (1 if state == "failing" else 0),
        "failing_since": "2026-11-27T03:00:00+00:00" if state in ("failing", "dead") else None,
        "last_ok_at": "2026-11-26T03:00:00+00:00", "last_checked_at": "2026-11-30T03:00:00+00:00",
        "changed_at": None, "similarity": None,
        "suggested_url": (f"https://web.archive.org/web/20240101000000/{url}"
                          if state == "dead" else None),
        "detail": None, "chapter": "A chapter", "source": f"_includes/section1.md:{i}",
        "page_title": None, "anchor_missing": None,
    }
    return base | extra


def suggestion(i: int, **extra: Any) -> dict[str, Any]:
    """A suggestion object (SPEC §10) with an abstract."""
    base = {
        "id": i + 1, "arxiv_id": f"2611.{10000 + i}", "version": 1,
        "title": f"A paper about low-rank adapters number {i}",
        "authors": ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra",
                    "Barbara Liskov"],
        "published": "2026-11-28T17:00:00+00:00", "categories": ["cs.CL", "cs.LG"],
        "score": round(0.9 - i * 0.02, 2), "section": "Section IV: Finetuning Methods for LLMs",
        "matched_terms": ["lora", "adapters", "finetuning"], "status": "new",
        "url": f"https://arxiv.org/abs/2611.{10000 + i}",
        "abstract": "We study low-rank adaptation. It works well. " * 12,
    }
    return base | extra


def run(i: int, **counts: int) -> dict[str, Any]:
    """A run object (SPEC §10)."""
    base = {"id": i, "started_at": f"2026-11-{i:02d}T03:00:00+00:00",
            "finished_at": f"2026-11-{i:02d}T03:02:05+00:00", "status": "complete",
            "checked": 300, "ok": 280, "moved": 4, "failing": 6, "dead": 5, "blocked": 5,
            "unknown": 0}
    return base | counts


def realistic(n: int = 300, suggestions: int = 30) -> ReportData:
    """A 300-link run: a dozen dead, moved, changed and blocked links, and suggestions."""
    states = ["dead"] * 12 + ["moved"] * 12 + ["failing"] * 10 + ["blocked"] * 12
    resources = [resource(i, states[i] if i < len(states) else "ok") for i in range(n)]
    for i in range(60, min(72, n)):
        resources[i] |= {"changed_at": "2026-11-30T03:00:00+00:00", "similarity": 0.42}
    events = [{"run_id": 30, "at": "2026-11-30T03:00:00+00:00", "url": resources[i]["url"],
               "kind": "went_dead", "detail": {}} for i in range(min(4, n))]
    events += [{"run_id": 30, "at": "2026-11-30T03:00:00+00:00", "url": resources[i]["url"],
                "kind": "changed", "detail": {"similarity": 0.42, "removed": "old paragraph " * 5,
                                              "added": "new paragraph " * 5}}
               for i in range(60, min(72, n))]
    if n > 80:
        events.append({"run_id": 30, "at": "2026-11-30T03:00:00+00:00",
                       "url": resources[80]["url"], "kind": "updated",
                       "detail": {"what": "version", "old": 1, "new": 2}})
    history = [run(i, dead=min(i // 3, 12)) for i in range(1, 31)]
    return ReportData(history[-1], resources, events,
                      [suggestion(i) for i in range(suggestions)], history, history[-2],
                      "2026-11-30T03:05:00+00:00", "0.1.0")
