"""Syntax checks of the deployment examples in docs/deploy/."""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.config import cron_trigger
from tests.service_helpers import ROOT, register_commands

DEPLOY = ROOT / "docs" / "deploy"
UNITS = ("monitor-run.service", "monitor-run.timer", "monitor-serve.service",
         "monitor-worker.service")
INSTALLED = "/srv/monitor/.venv/bin/monitor"


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read_string((DEPLOY / name).read_text(encoding="utf-8"))
    return parser


def assert_monitor_command(argv: list[str]) -> None:
    """``argv`` is ``monitor <command> [options]`` and the command parses its options."""
    register_commands()
    assert Path(argv[0]).name == "monitor", argv
    command = main.commands.get(argv[1])
    assert command is not None, argv
    command.make_context(argv[1], argv[2:])


def test_systemd_service_and_timer_have_the_required_keys() -> None:
    run, timer, serve = (unit(n) for n in UNITS[:3])
    assert run["Service"]["Type"] == "oneshot" and run["Unit"]["Description"]
    assert_monitor_command(shlex.split(run["Service"]["ExecStart"]))
    assert shlex.split(run["Service"]["ExecStart"])[1:] == ["run"]
    assert "75" in run["Service"]["SuccessExitStatus"].split()
    assert timer["Timer"]["OnCalendar"] and timer["Timer"]["Persistent"] == "true"
    assert timer["Timer"]["Unit"] == "monitor-run.service"
    assert timer["Install"]["WantedBy"] == "timers.target"
    assert serve["Service"]["Type"] == "simple" and serve["Service"]["Restart"]
    argv = shlex.split(serve["Service"]["ExecStart"])
    assert_monitor_command(argv)
    assert argv[1] == "serve" and argv[argv.index("--host") + 1] == "127.0.0.1"
    assert serve["Install"]["WantedBy"] == "multi-user.target"


def test_systemd_worker_unit_restarts_and_outlasts_its_grace_period() -> None:
    worker = unit("monitor-worker.service")
    service = worker["Service"]
    argv = shlex.split(service["ExecStart"])
    assert_monitor_command(argv)
    assert argv[1] == "worker" and service["Type"] == "simple"
    assert service["Restart"] == "always" and service["KillSignal"] == "SIGTERM"
    graceful = float(argv[argv.index("--graceful") + 1])
    assert float(service["TimeoutStopSec"]) > graceful  # SIGKILL only after the hand-back
    assert worker["Install"]["WantedBy"] == "multi-user.target"


def test_systemd_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    executable = str(Path(sys.executable).with_name("monitor"))  # ExecStart must exist
    for name in UNITS:
        text = (DEPLOY / name).read_text(encoding="utf-8").replace(INSTALLED, executable)
        (tmp_path / name).write_text(text, encoding="utf-8")
    result = subprocess.run([analyze, "verify", *UNITS], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60)
    ours = [line for line in (result.stdout + result.stderr).splitlines()
            if any(name in line for name in UNITS)]
    assert result.returncode == 0 and not ours, result.stdout + result.stderr


def test_crontab_line_is_five_valid_fields_and_a_monitor_run() -> None:
    lines = [line for line in (DEPLOY / "crontab").read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    assert len(lines) == 1
    fields = lines[0].split(None, 5)
    assert len(fields) == 6, lines[0]
    cron_trigger(" ".join(fields[:5]), "UTC")
    command = fields[5]
    assert "%" not in command  # cron would turn it into a newline
    assert shlex.split(command.split("&&")[-1].split(">>")[0])[-2:] == [
        ".venv/bin/monitor", "run"]


def test_github_actions_workflow_runs_nightly_and_keeps_one_rolling_issue() -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed")
    flow = yaml.safe_load((DEPLOY / "github-actions-nightly.yml").read_text(encoding="utf-8"))
    triggers = flow.get("on", flow.get(True))  # YAML 1.1 reads a bare `on` as true
    cron_trigger(triggers["schedule"][0]["cron"], "UTC")
    assert "workflow_dispatch" in triggers
    assert flow["permissions"]["issues"] == "write"
    steps = flow["jobs"]["run"]["steps"]
    runs = [s.get("run", "") for s in steps]
    assert any(r.strip() == "monitor run" for r in runs)
    assert not any("gh issue" in r for r in runs)  # never an issue a night: monitor rolls one
    job_env = flow["jobs"]["run"]["env"]
    assert job_env["GITHUB_TOKEN"] and job_env["MONITOR_CONFIG"] == ".monitor-ci.toml"
    configure = next(r for r in runs if "[notify.github]" in r.replace("\\", ""))
    assert "$GITHUB_REPOSITORY" in configure
    for step in steps:
        assert set(step) <= {"name", "uses", "with", "run", "env", "if", "id"}, step
        assert ("uses" in step) != ("run" in step), step
