"""Stage 1, the catalog: what to check (SPEC §5).

- :mod:`monitor.catalog.csvfile`: the catalog CSV, read row by row (bad rows are problems,
  skipped), written, appended to;
- :mod:`monitor.catalog.extract`: catalog rows from Markdown/HTML sources (the handbook);
- :mod:`monitor.catalog.kinds`: the ``kind`` of a URL.

Rows are keyed by :func:`canonical_url` (the generic rules of :mod:`monitor.urls`, then each
site's rule from :mod:`monitor.sites`).
"""

from monitor.catalog.csvfile import (
    KNOWN_COLUMNS,
    CatalogError,
    CatalogProblem,
    CatalogRow,
    append_row,
    load_catalog,
    read_catalog_text,
    write_catalog,
)
from monitor.catalog.kinds import guess_kind
from monitor.sites import canonical_url
from monitor.urls import InvalidURL
from monitor.vocabulary import KINDS

__all__ = [
    "KINDS", "KNOWN_COLUMNS", "CatalogError", "CatalogProblem", "CatalogRow", "InvalidURL",
    "append_row", "canonical_url", "guess_kind", "load_catalog", "read_catalog_text",
    "write_catalog",
]
