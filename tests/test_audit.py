"""The dependency audit every project's CI runs (GitHub's audit.yml, GitLab's `audit` job):
its own commands, run as the job's shell would, against a local stand-in of OSV's query API
(lab/osv.py) that serves a real advisory, PYSEC-2019-217 (jinja2 before 2.10.1). OSV itself
cannot be reached from here; pip-audit is told where the stand-in is by PIP_AUDIT_OSV_URL, its
own setting for OSV's address.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ci_job_lines, run_ci_lines, run_ok

from lab import osv

AUDIT = "pip-audit==2.10.1"  # what the jobs run, as .ci/run warms it: uvx --from pip-audit==2.10.1


def audit_lines(project: Path, ci: str) -> list[str]:
    """The audit job's commands, as its file gives them (GitHub's first step, the uv version
    for setup-uv, left out)."""
    lines = ci_job_lines(project, ci, ("audit.yml", "audit"), "audit")
    return lines[1:] if ci == "github" else lines


def run_audit(project: Path, ci: str, url: str) -> subprocess.CompletedProcess[str]:
    """The job's lines, with the stand-in's address and this Python for uvx (the job's image
    has only its own)."""
    env = {"PIP_AUDIT_OSV_URL": url, "UV_PYTHON": sys.executable}
    return run_ci_lines(audit_lines(project, ci), project, env)


@pytest.fixture(scope="module")
def advisories():
    with osv.serving() as url:
        yield url


@pytest.mark.parametrize("ci", ["github", "gitlab"])
def test_the_audit_fails_on_a_locked_release_with_an_advisory_naming_it(generated, advisories, ci):
    project = generated(project_name="audited", ci=ci)
    assert audit_lines(project, ci)[-1].startswith("uvx pip-audit@2.10.1 ")
    run_ok(["uv", "add", "--quiet", "--no-sync", "jinja2==2.10"], project)
    done = run_audit(project, ci, advisories)
    assert done.returncode == 1, done.stdout + done.stderr
    (row,) = [line.split() for line in done.stdout.splitlines() if line.startswith("jinja2 ")]
    assert row == ["jinja2", "2.10", "PYSEC-2019-217", "2.10.1"]
    assert "Found 1 known vulnerability in 1 package" in done.stderr


@pytest.mark.parametrize("ci", ["github", "gitlab"])
def test_the_audit_passes_a_clean_lock_and_every_package_was_asked(generated, advisories, ci):
    project = generated(project_name="audited", ci=ci)
    run_ok(["uv", "add", "--quiet", "--no-sync", "jinja2==2.10.1"], project)
    done = run_audit(project, ci, advisories)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No known vulnerabilities found" in done.stderr + done.stdout


def test_the_stand_in_answers_as_osv_does_for_the_ranges_of_its_record():
    (record,) = [r for r in osv.answer({"package": {"name": "Jinja2", "ecosystem": "PyPI"},
                                         "version": "2.10"}, [_record()])["vulns"]]  # fmt: skip
    assert record["id"] == "PYSEC-2019-217"
    for version, found in [("2.0rc1", True), ("2.9.6", True), ("2.10.1", False), ("3.1.6", False)]:
        query = {"package": {"name": "jinja2", "ecosystem": "PyPI"}, "version": version}
        assert bool(osv.answer(query, [_record()])) is found, version
    assert osv.answer({"package": {"name": "jinja2", "ecosystem": "npm"}, "version": "2.10"},
                      [_record()]) == {}  # fmt: skip


def _record() -> dict:
    return json.loads((osv.ADVISORIES / "PYSEC-2019-217.json").read_text())
