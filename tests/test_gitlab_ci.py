"""The generated .gitlab-ci.yml, run by gitlab-ci-local (npm, pinned by
lab/clients/package-lock.json with the Node 22 it needs; `npm ci --prefix lab/clients`, which
.ci/run does; it copies projects with rsync): which jobs each kind of pipeline selects, the
`checks` job run for real in its image for every kind, and the scheduled `template-update` job
run against a local bare repository standing in for the GitLab remote.

The images are the engine's (stand-ins here): nothing is pulled. gitlab-ci-local's helper
container (it owns the job's volume while the files are copied in) runs in the job's own image.

What gitlab-ci-local cannot show:
- it ignores `when: never` in `workflow:rules` (it reads workflow rules only for their
  variables), so for a merge request event it lists the branch pipeline's jobs, where GitLab
  creates no pipeline at all; the test says so and checks the workflow rule itself;
- the image jobs run in `docker:29` with a `docker:29-dind` service, and their before_script
  runs tonistiigi/binfmt and a BuildKit container: none of these images can be pulled here.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import yaml
from helpers import DEFAULT_PYTHON, missing, render, uv_python_image

from lab.clients import gitlab_ci_local
from lab.clients.gitlab import GitlabCiLocal, checkout

pytestmark = pytest.mark.docker

KINDS = ["script", "service", "package"]

# What GitLab sets for each kind of pipeline, over gitlab-ci-local's defaults (a push to the
# checkout's branch, the default branch here): None unsets a variable, as GitLab leaves
# CI_COMMIT_BRANCH unset in tag and merge request pipelines.
PIPELINES: dict[str, dict[str, str | None]] = {
    "default-branch": {},
    "other-branch": {"CI_COMMIT_BRANCH": "feature"},
    "version-tag": {"CI_COMMIT_BRANCH": None, "CI_COMMIT_TAG": "v1.2.3"},
    "other-tag": {"CI_COMMIT_BRANCH": None, "CI_COMMIT_TAG": "nightly"},
    "merge-request": {
        "CI_COMMIT_BRANCH": None,
        "CI_PIPELINE_SOURCE": "merge_request_event",
        "CI_MERGE_REQUEST_IID": "1",
    },
    "template-update-schedule": {"CI_PIPELINE_SOURCE": "schedule", "TEMPLATE_UPDATE": "1"},
}

# The jobs each pipeline is meant to run (the header of .gitlab-ci.yml says why).
INTENDED = {
    "default-branch": ["checks", "push-edge"],
    "other-branch": ["checks", "build-image"],
    "version-tag": ["checks", "push-release"],
    "other-tag": ["checks"],
    # gitlab-ci-local's answer, not GitLab's: it ignores the workflow rule that creates no
    # pipeline for a merge request (a tool limit, checked apart below).
    "merge-request": ["checks", "build-image"],
    "template-update-schedule": ["template-update"],
}


@pytest.fixture(scope="session")
def gitlab(docker, tmp_path_factory):
    """gitlab-ci-local for a project, on the tests' engine, its helper container in the job
    image (the stand-in of uv's image with the default Python)."""
    command = gitlab_ci_local()
    if isinstance(command, str):
        missing(command)
    home = tmp_path_factory.mktemp("gitlab-ci-local-home")
    job_image = uv_python_image(DEFAULT_PYTHON)

    def runner(project: Path, volumes: list[str] | None = None) -> GitlabCiLocal:
        return GitlabCiLocal(
            command, project, docker.env, docker.client, job_image, home, volumes or []
        )

    return runner


def gitlab_project(destination: Path, **answers: object) -> Path:
    project = render(destination, ci="gitlab", **answers)
    checkout(project)
    return project


@pytest.mark.parametrize(
    ("kind", "template_update"),
    [("script", True), ("service", True), ("package", True), ("script", False)],
)
def test_each_pipeline_selects_the_intended_jobs(gitlab, tmp_path, kind, template_update):
    project = gitlab_project(tmp_path / "app", project_kind=kind, template_update=template_update)
    ci = gitlab(project)
    listed = ci("--list", validate=True)  # GitLab's JSON schema, as gitlab-ci-local ships it
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "json schema validated" in listed.stdout + listed.stderr
    selected = {name: ci.selected(variables) for name, variables in PIPELINES.items()}
    intended = {
        name: [job for job in jobs if template_update or job != "template-update"]
        for name, jobs in INTENDED.items()
    }
    assert selected == intended
    # Every job an image job needs runs in the same pipeline.
    for name, variables in PIPELINES.items():
        chain = ci("--validate-dependency-chain", variables=variables)
        assert chain.returncode == 0, f"{name}:\n{chain.stdout}{chain.stderr}"


def test_a_merge_request_event_creates_no_pipeline_by_the_workflow_rule(tmp_path):
    # gitlab-ci-local ignores `when: never` in workflow:rules, so it cannot prove this one:
    # the rule GitLab applies first is read from the file instead.
    project = render(tmp_path / "app", ci="gitlab")
    rules = yaml.safe_load((project / ".gitlab-ci.yml").read_text())["workflow"]["rules"]
    assert rules[0] == {"if": '$CI_PIPELINE_SOURCE == "merge_request_event"', "when": "never"}
    assert rules[-1] == {"when": "always"}


@pytest.mark.parametrize("kind", KINDS)
def test_the_checks_job_passes_in_its_image(gitlab, generated, kind):
    project = generated(project_name=f"gl-{uuid.uuid4().hex[:8]}", project_kind=kind, ci="gitlab")
    checkout(project)
    ran = gitlab(project).run("checks")
    log = ran.stdout + ran.stderr
    assert ran.returncode == 0, log
    assert f"checks starting {uv_python_image(DEFAULT_PYTHON)}" in log
    assert "PASS  checks" in log
    # The job's `coverage:` pattern finds pytest-cov's total, as GitLab would show it.
    assert "checks 100% coverage" in log
    assert "pulled" not in log  # everything came from the engine
