"""The peers of the crawl benchmark: LinkChecker (PyPI) and linkinator 6 (npm).

Both are installed by the benchmark itself, never into the project: LinkChecker into
``bench/.venv-peers`` (its own virtual environment), linkinator into ``bench/node_modules``
(linkinator 8 does not start on Node 20, so 6.x is pinned). Each crawls from the index page
of the simulated web, which links every URL once.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
PEER_VENV = BENCH / ".venv-peers"
LINKCHECKER = PEER_VENV / "bin" / "linkchecker"
LINKCHECKER_SPEC = "linkchecker==10.6.0"
LINKINATOR_SPEC = "linkinator@6"
LINKINATOR_CLI = BENCH / "node_modules" / "linkinator" / "build" / "src" / "cli.js"


@dataclass(frozen=True)
class Peer:
    """A peer checker: its name and the command that checks everything linked from a page."""

    name: str
    version: str
    argv: tuple[str, ...]

    def command(self, start_url: str, concurrency: int) -> list[str]:
        """The command line that checks every link of ``start_url``."""
        return [arg.format(url=start_url, concurrency=concurrency) for arg in self.argv]


def _run(argv: list[str], timeout: float = 600) -> str | None:
    """Run an install step; return None on success, else the reason."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    return None if done.returncode == 0 else (done.stderr or done.stdout)[-500:]


def _version(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) \
        else "?"


def linkchecker() -> Peer | str:
    """LinkChecker, installed on first use; or why it is unavailable."""
    if not LINKCHECKER.exists():
        why = (_run([sys.executable, "-m", "venv", str(PEER_VENV)])
               or _run([str(PEER_VENV / "bin" / "pip"), "install", "-q", LINKCHECKER_SPEC]))
        if why:
            return f"LinkChecker could not be installed: {why}"
    version = _version([str(LINKCHECKER), "--version"]).removeprefix("LinkChecker ")
    argv = (str(LINKCHECKER), "--check-extern", "--no-robots", "--no-status", "--no-warnings",
            "-t", "{concurrency}", "-o", "csv", "{url}")
    return Peer("LinkChecker", version.split(" released")[0], argv)


def linkinator() -> Peer | str:
    """linkinator 6, installed on first use; or why it is unavailable."""
    node = shutil.which("node")
    if node is None:
        return "linkinator needs Node.js (node not found)"
    if not LINKINATOR_CLI.exists():
        npm = shutil.which("npm") or "npm"
        why = _run([npm, "install", "--prefix", str(BENCH), "--no-save", "--no-audit",
                    "--no-fund", LINKINATOR_SPEC])
        if why:
            return f"linkinator could not be installed: {why}"
    package = (LINKINATOR_CLI.parents[2] / "package.json").read_text(encoding="utf-8")
    version = package.split('"version":', 1)[1].split('"')[1] if '"version":' in package else "?"
    argv = (node, str(LINKINATOR_CLI), "{url}", "--concurrency", "{concurrency}",
            "--format", "csv")
    return Peer("linkinator", version, argv)


def available() -> tuple[list[Peer], list[str]]:
    """The peers that could be installed, and a note for each that could not."""
    peers, notes = [], []
    for make in (linkinator, linkchecker):
        peer = make()
        if isinstance(peer, Peer):
            peers.append(peer)
        else:
            notes.append(peer)
    return peers, notes
