"""This repository's own GitHub workflow: valid, audited, pinned, and covering every variant."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import ROOT, UV_VERSION, VARIANTS, render

WORKFLOW = ROOT / ".github" / "workflows" / "tests.yml"
# Every action this repository and its generated projects use: the newest release each
# upstream repository has in the mirror this machine can read (fetched 2026-11-25, histories
# to mid-August 2026), the commit that tag points at, and a Node 24 runtime (`runs.using` of
# its action.yml at that tag, read from the same mirrors).
ACTIONS = {
    "actions/checkout": ("v7.0.1", "3d3c42e5aac5ba805825da76410c181273ba90b1"),
    "astral-sh/setup-uv": ("v10.0.1", "20cfd1bf945f4377ade1205e4dbc17946fc9a30d"),
    "docker/setup-qemu-action": ("v4.2.0", "96fe6ef7f33517b61c61be40b68a1882f3264fb8"),
    "docker/setup-buildx-action": ("v4.3.0", "37fe631027851001ddb9b187196cc803df7f5f0e"),
    "docker/login-action": ("v4.1.0", "4907a6ddec9925e35a0a9e82d7399ccc52663121"),
    "docker/metadata-action": ("v6.2.0", "dc802804100637a589fabce1cb79ff13a1411302"),
    "docker/build-push-action": ("v7.3.0", "53b7df96c91f9c12dcc8a07bcb9ccacbed38856a"),
    "actions/attest": ("v4.2.2", "1e69f48acb82d1966a394da916b4c1698aa569d6"),
}
# What each action's own documentation asks of the job's GITHUB_TOKEN, at the pinned version
# above (read 2026-12-01 in the mirrors of their repositories), and where it says so.
DOCUMENTED_PERMISSIONS: dict[str, tuple[dict[str, str], str]] = {
    "actions/checkout": (
        {"contents": "read"},
        "README.md, 'Recommended permissions': contents: read",
    ),
    "astral-sh/setup-uv": (
        {},
        "action.yml, github-token: 'Used when downloading uv from GitHub releases' (public);"
        " docs/environment-and-tools.md: the default GITHUB_TOKEN suffices",
    ),
    "docker/setup-qemu-action": ({}, "README.md, action.yml: no token"),
    "docker/setup-buildx-action": ({}, "README.md, action.yml: no token"),
    "docker/metadata-action": ({}, "action.yml, github-token: reads the public repository"),
    "docker/login-action": (
        {"packages": "write"},
        "README.md, 'GitHub Container Registry': GITHUB_TOKEN, whose scope for a push is"
        " packages: write in the GitHub guide it links (publishing-and-installing-a-package)",
    ),
    "docker/build-push-action": (
        {},
        "README.md, github-token: only for a Git context (ours is the path `.`)",
    ),
    "actions/attest": (
        {"id-token": "write", "attestations": "write", "artifact-metadata": "write"},
        "README.md lines 64-76: id-token (Sigstore), attestations (persist it),"
        " artifact-metadata (the storage record, made when push-to-registry is true)",
    ),
}
# What a command of a `run:` step asks of the job's token, and where that is documented.
COMMAND_PERMISSIONS: dict[str, tuple[dict[str, str], str]] = {
    "uv publish": (
        {"id-token": "write"},
        "trusted publishing: PyPI's docs, 'Publishing with a Trusted Publisher' (id-token: write,"
        " mandatory), and uv's docs/guides/integration/github.md",
    ),
    "gh release create": (
        {"contents": "write"},
        "GitHub's REST docs, 'Create a release': the Contents repository permission (write)",
    ),
}
# actions/attest with `push-to-registry: true` also pushes the attestation to the registry: its
# README.md 'Container Image' example (lines 397-405, v4.2.2) adds packages: write.
ATTEST_PUSH = {"packages": "write"}
# Copier, pinned exactly in the template-update jobs: the newest 9.x on PyPI (2026-12-01).
COPIER_PIN = "9.19.1"
# `owner/repo@<40 hex> # vX.Y.Z`: a commit, which cannot be moved, and the release it is.
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")


def unpinned_actions(path: Path) -> list[str]:
    """Every `uses:` of a workflow that is not pinned to a full commit with its version."""
    uses = re.findall(r"^\s*(?:- )?uses: (.+)$", path.read_text(), re.M)
    return [use for use in uses if not PINNED.match(use)]


def lint(path: Path) -> list[str]:
    """What the schema, actionlint and zizmor (offline, pedantic) find; [] when clean."""
    commands = [
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows"],
        ["actionlint", "-no-color"],
        ["zizmor", "--offline", "--pedantic", "--no-progress", "--format", "plain"],
    ]
    found = []
    for command in commands:
        done = subprocess.run([*command, str(path)], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            found.append(f"{command[-1]}: {done.stdout}{done.stderr}")
    return found


def test_the_template_workflow_is_schema_valid_actionlint_and_zizmor_clean():
    assert lint(WORKFLOW) == []


def test_the_template_workflow_pins_every_action_to_a_commit_with_its_version():
    assert unpinned_actions(WORKFLOW) == []
    assert "uses:" in WORKFLOW.read_text()


def test_pin_check_catches_a_tag_and_a_short_sha(tmp_path: Path):
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "steps:\n  - uses: actions/checkout@v7\n  - uses: actions/checkout@3d3c42e # v7.0.1\n"
    )
    assert len(unpinned_actions(bad)) == 2


def test_the_template_workflow_builds_every_accepted_variant_against_real_registries():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    job = workflow["jobs"]["tests"]
    matrix = job["strategy"]["matrix"]
    cells = {
        (b, v)
        for b in matrix["base_image"]
        for v in matrix["python_version"]
        if {"base_image": b, "python_version": v} not in matrix.get("exclude", [])
    } | {(cell["base_image"], cell["python_version"]) for cell in matrix.get("include", [])}
    assert cells == set(VARIANTS)
    assert job["env"]["COPIER_UV_DOCKER_NO_STANDINS"] == "1"
    assert job["env"]["COPIER_UV_DOCKER_REQUIRE_REGISTRY"] == "1"
    assert job["env"]["COPIER_UV_DOCKER_REQUIRE"] == "1"
    (setup_uv,) = [s for s in job["steps"] if s.get("uses", "").startswith("astral-sh/setup-uv@")]
    assert setup_uv["with"]["version"] == UV_VERSION
    assert job["steps"][-1]["run"] == "uv run pytest"


def documented_permissions(job: dict[str, Any]) -> dict[str, str]:
    """What the job's actions document, merged (write wins over read)."""
    wanted: dict[str, str] = {}
    for step in job["steps"]:
        if "run" in step:
            commands = [line.strip() for line in step["run"].splitlines()]
            for command, (needs, _) in COMMAND_PERMISSIONS.items():
                if any(line.startswith(command) for line in commands):
                    for scope, level in needs.items():
                        wanted[scope] = "write" if "write" in (level, wanted.get(scope)) else level
        if "uses" not in step:
            continue
        action = step["uses"].split("@")[0]
        needs = dict(DOCUMENTED_PERMISSIONS[action][0])
        if action == "actions/attest" and step.get("with", {}).get("push-to-registry"):
            needs |= ATTEST_PUSH
        for scope, level in needs.items():
            wanted[scope] = "write" if "write" in (level, wanted.get(scope)) else level
    return wanted


@pytest.mark.parametrize("kind", ["script", "package"])
def test_every_job_asks_for_exactly_what_its_actions_and_commands_document(tmp_path: Path, kind):
    project = render(tmp_path / "p", ci="github", template_update=True, project_kind=kind)
    workflows = sorted((project / ".github/workflows").glob("*.yml"))
    assert [w.name for w in workflows] == ["audit.yml", "ci.yml", "template-update.yml"]
    for path in workflows:
        workflow = yaml.safe_load(path.read_text())
        assert workflow["permissions"] == {}, path.name
        for name, job in workflow["jobs"].items():
            assert job["permissions"] == documented_permissions(job), (path.name, name)
    # This repository's own workflow: the same rule, at the workflow's level.
    own = yaml.safe_load(WORKFLOW.read_text())
    (job,) = own["jobs"].values()
    assert "permissions" not in job
    assert own["permissions"] == documented_permissions(job)


def test_the_permission_check_catches_one_too_many_and_one_too_few():
    checkout = {"uses": "actions/checkout@x # v7.0.1"}
    attest = {"uses": "actions/attest@x # v4.2.2", "with": {"push-to-registry": True}}
    wanted = documented_permissions({"steps": [checkout, attest]})
    assert wanted == {
        "contents": "read",
        "id-token": "write",
        "attestations": "write",
        "artifact-metadata": "write",
        "packages": "write",
    }
    assert documented_permissions({"steps": [checkout, {"run": "true"}]}) == {"contents": "read"}
