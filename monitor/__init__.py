"""monitor: link-health and freshness monitoring for curated catalogs."""
__version__ = "0.1.0"
