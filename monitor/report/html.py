"""HTML report: one self-contained page (inline CSS and SVG; no script, font or image)."""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, select_autoescape

from monitor.report import titles, trend, view
from monitor.report.links import safe_href
from monitor.report.model import ReportData
from monitor.vocabulary import SEVERITY, TREND_ORDER

_ENV = Environment(loader=PackageLoader("monitor.report", "templates"),
                   autoescape=select_autoescape(["html", "j2"]), trim_blocks=True,
                   lstrip_blocks=True)
_ENV.filters["href"] = safe_href
_ENV.filters["words"] = view.error_in_words
_ENV.filters["sentences"] = view.first_sentences


def render_html(data: ReportData) -> str:
    """Render ``data`` as one HTML page (every outside string escaped by Jinja2 autoescape)."""
    template = _ENV.get_template("report.html.j2")
    suggestions = [(s, *view.triage_commands(s)) for s in data.suggestions]
    actions = view.actions(data)
    return template.render(
        data=data, counts=data.counts(), deltas=view.count_deltas(data), actions=actions,
        fix_command=view.fix_command, fixable=any(map(view.fix_command, actions)),
        lead=titles.lead, blocked=data.by_state("blocked"),
        sections=data.sections(), chart=trend.chart(data.history), suggestions=suggestions,
        severity=SEVERITY, trend_order=TREND_ORDER, note=view.run_note(data),
        ranking=view.ranking_line(data),
    )
