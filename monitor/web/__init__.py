"""The web UI and JSON API of ``monitor serve`` (aiohttp.web + aiohttp-jinja2).

:func:`create_app` builds the application, :func:`serve` runs it (optionally with the scheduler).
"""

from monitor.web.app import create_app, serve

__all__ = ["create_app", "serve"]
