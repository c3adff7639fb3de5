"""Run a ``monitor`` command that file permissions apply to, even when the suite runs as root.

Root ignores file modes through two capabilities, CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH
(capabilities(7)). The child drops both from its bounding set before it executes, so the
command runs as root but, like any owner, cannot write a file of mode 0444, create files in a
folder of mode 0555 or enter one of mode 0000. Callers take permissions away with ``chmod``;
as any other user that is all it takes.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
from pathlib import Path

from tests.service_helpers import LAUNCHER, child_env

AS_ROOT = os.geteuid() == 0
_PR_CAPBSET_DROP = 24  # prctl(2)
_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH = 1, 2


def _drop_file_privileges() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
        if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def run_monitor(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``monitor ARGS`` in a child process that file modes apply to (see the module)."""
    return subprocess.run([*LAUNCHER, *args], cwd=cwd, env=child_env(**env),
                          capture_output=True, text=True, timeout=120, check=False,
                          preexec_fn=_drop_file_privileges if AS_ROOT else None)
