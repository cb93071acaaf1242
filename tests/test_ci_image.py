"""CI runs the image it built before pushing it: the exact smoke lines of both CI files, run
against a real image of every kind and base image, and failing on an image that is not it."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest
import yaml
from helpers import BASE_IMAGES, render, shipped_base

KINDS = ["script", "service", "package"]


def smoke_lines(project: Path, ci: str) -> str:
    """The shell lines that run the loaded image, as the CI file holds them."""
    if ci == "github":
        text = (project / ".github/workflows/ci.yml").read_text()
        steps = yaml.safe_load(text)["jobs"]["image"]["steps"]
        (step,) = [s for s in steps if s.get("name") == "Run the image before pushing it"]
        return step["run"]
    pipeline = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
    build, run = pipeline[".smoke"]
    assert build.startswith('docker buildx build --load --tag "$SMOKE_IMAGE"')
    return run


@pytest.mark.parametrize("kind", KINDS)
def test_both_ci_files_run_the_same_smoke_lines(tmp_path: Path, kind: str):
    answers = {"project_name": "smoked", "project_kind": kind}
    github = render(tmp_path / "gh", ci="github", **answers)
    gitlab = render(tmp_path / "gl", ci="gitlab", **answers)
    assert smoke_lines(github, "github") == smoke_lines(gitlab, "gitlab")
    assert textwrap.dedent(smoke_lines(github, "github")) == smoke_lines(github, "github")


def run_smoke(lines: str, image: str, env: dict[str, str], ci: str) -> subprocess.CompletedProcess:
    """As each CI runs a script: GitHub's `bash -e`, GitLab's docker image's `sh -e`."""
    shell = ["bash", "-e", "-c"] if ci == "github" else ["sh", "-e", "-c"]
    return subprocess.run(
        [*shell, lines],
        env={**env, "SMOKE_IMAGE": image},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.mark.parametrize("base_image", BASE_IMAGES)
@pytest.mark.parametrize("kind", KINDS)
def test_the_ci_smoke_lines_pass_on_the_built_image_and_fail_on_another(
    built, docker_first_on_path, kind: str, base_image: str
):
    project, tag = built(base_image, kind)
    # The lines do not depend on the provider's other answers: the GitLab file of the same
    # project holds the same ones (test above), so one render gives both.
    answers = {"project_name": tag, "project_kind": kind, "base_image": base_image}
    gitlab = render(project.parent / f"{project.name}-gl", ci="gitlab", **answers)
    for ci, source in (("github", project), ("gitlab", gitlab)):
        lines = smoke_lines(source, ci)
        ran = run_smoke(lines, tag, docker_first_on_path, ci)
        assert ran.returncode == 0, f"{ci}:\n{ran.stdout}\n{ran.stderr}"
        if kind == "service":
            assert 'health: healthy, /health: {"status":"ok"}' in ran.stdout, ran.stdout
        else:
            assert ran.stdout.startswith(f"Hello from {tag}! (Python "), ran.stdout
    # The image's own base neither greets nor serves: the same lines fail on it.
    base = shipped_base(project)
    other = run_smoke(lines, base, docker_first_on_path, "gitlab")
    assert other.returncode != 0, other.stdout + other.stderr
