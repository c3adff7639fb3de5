"""Fixes of the catalog sources (issue 12)."""
