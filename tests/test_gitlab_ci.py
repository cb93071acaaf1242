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
  runs tonistiigi/binfmt and a BuildKit container: none of these images can be pulled here, so
  they are read as gitlab-ci-local expands them (`extends`, anchors); their smoke lines run in
  tests/test_ci_image.py, the push and the registry are left to GitLab's runners.
"""

from __future__ import annotations

import re
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml
from helpers import (
    DEFAULT_PYTHON,
    SEEN_BY_THE_TEMPLATE,
    copier,
    copy_working_tree,
    engines_too,
    missing,
    record_what_the_template_sees,
    render,
    run_ok,
    uv_python_image,
)

from lab.clients import gitlab_ci_local
from lab.clients.gitlab import (
    DEFAULT_BRANCH,
    PROJECT_PATH,
    SERVER,
    GitlabCiLocal,
    checkout,
    helper_image,
)

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
    "other-schedule": {"CI_PIPELINE_SOURCE": "schedule"},
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
    "template-update-schedule": ["template-update", "template-update-push"],
    # A weekly schedule for the audit: the default branch's pipeline, with the audit.
    "other-schedule": ["checks", "audit", "push-edge"],
}
# The package kind's release, from a version tag only.
RELEASE = {"version-tag": ["release-pypi"]}


@pytest.fixture(scope="session")
def gitlab(docker, tmp_path_factory):
    """gitlab-ci-local for a project, on the tests' engine, its helper containers in the job
    image (the stand-in of uv's image with the default Python) with rsync added."""
    command = gitlab_ci_local()
    if isinstance(command, str):
        missing(command)
    home = tmp_path_factory.mktemp("gitlab-ci-local-home")
    helper = helper_image(docker.client, docker.env, uv_python_image(DEFAULT_PYTHON))

    def runner(project: Path, volumes: list[str] | None = None) -> GitlabCiLocal:
        return GitlabCiLocal(
            command, project, docker.env, docker.client, helper, home, volumes or []
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
        name: sorted(
            [job for job in jobs if template_update or not job.startswith("template-update")]
            + (RELEASE.get(name, []) if kind == "package" else [])
        )
        for name, jobs in INTENDED.items()
    }
    assert {name: sorted(jobs) for name, jobs in selected.items()} == intended
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


IMAGE_JOBS = ["build-image", "push-edge", "push-release"]


@pytest.mark.parametrize("kind", KINDS)
def test_every_image_job_runs_the_smoke_lines_in_dind_before_building_both_platforms(
    gitlab, tmp_path, kind
):
    project = gitlab_project(tmp_path / "app", project_kind=kind)
    preview = gitlab(project)("--preview")
    assert preview.returncode == 0, preview.stdout + preview.stderr
    expanded = yaml.safe_load(preview.stdout[preview.stdout.index("---") :])
    smoke = yaml.safe_load((project / ".gitlab-ci.yml").read_text())[".smoke"]
    for name in IMAGE_JOBS:
        job = expanded[name]
        assert job["image"] == {"name": "docker:29"}, name
        assert job["services"] == [{"name": "docker:29-dind"}], name
        assert job["needs"] == [{"job": "checks", "artifacts": True, "optional": False}], name
        assert "buildx create --use --driver docker-container" in job["before_script"][1]
        # The image for this runner's platform, run, before anything is built for both.
        assert job["script"][: len(smoke)] == smoke, name
        (both,) = [line for line in job["script"] if '--platform "$PLATFORMS"' in line]
        assert job["script"].index(both) >= len(smoke), name


@pytest.mark.parametrize("kind", engines_too(KINDS, "script"))
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


# The remote's record of every push it receives, one line each: the refs it updates, then the
# push options it was sent (git sets GIT_PUSH_OPTION_COUNT and GIT_PUSH_OPTION_<i> for hooks).
PRE_RECEIVE = """#!/bin/sh
{
  while read -r old new ref; do printf '%s ' "$ref"; done
  i=0
  while [ "$i" -lt "${GIT_PUSH_OPTION_COUNT:-0}" ]; do
    printf '%s ' "$(printenv "GIT_PUSH_OPTION_$i")"
    i=$((i + 1))
  done
  echo
} >> pushes.log
"""
TOKEN = "glpat-stand-in"  # noqa: S105 (nothing checks it: the remote is a folder)
SCHEDULE = PIPELINES["template-update-schedule"]


def tagged_template(folder: Path) -> Path:
    """A git copy of this template, as tests/test_update.py makes one: v1.0.0 without
    PYTHONUNBUFFERED in the Dockerfile, v2.0.0 as the template is now."""
    repo = folder / "template"
    copy_working_tree(repo)
    dockerfile = repo / "template" / "Dockerfile.jinja"
    current = dockerfile.read_text()
    assert " \\\n    PYTHONUNBUFFERED=1\n" in current
    git = ["git", "-c", "user.name=T", "-c", "user.email=t@example.com"]
    run_ok(["git", "init", "-q"], repo)
    dockerfile.write_text(current.replace(" \\\n    PYTHONUNBUFFERED=1\n", "\n"))
    for version in ("v1.0.0", "v2.0.0"):
        run_ok(["git", "add", "-A"], repo)
        run_ok([*git, "commit", "-q", "--no-verify", "-m", version], repo)
        run_ok(["git", "tag", version], repo)
        dockerfile.write_text(current)
    return repo


def bare_remote(folder: Path, project: Path) -> Path:
    """A bare repository holding the project's default branch, that takes push options and
    records every push it receives (pushes.log)."""
    remote = folder / "remote.git"
    run_ok(["git", "init", "-q", "--bare", str(remote)], folder)
    run_ok(["git", "config", "receive.advertisePushOptions", "true"], remote)
    hook = remote / "hooks" / "pre-receive"
    hook.write_text(PRE_RECEIVE)
    hook.chmod(0o755)
    run_ok(["git", "push", "-q", str(remote), DEFAULT_BRANCH], project)
    (remote / "pushes.log").unlink()
    return remote


@pytest.fixture
def scheduled_update(gitlab, tmp_path):
    """A project generated from v1.0.0 of a git template (its _src_path a git URL), pushed to a
    bare remote; and how to run its template-update job there with gitlab-ci-local. The job
    pushes to GitLab's URL (https://oauth2:<token>@<server>/<project>.git), which git's
    `url.<remote>.insteadOf` (from the job's environment) turns into the bare remote: any other
    URL would reach nothing. The template and the remote are mounted at their own paths."""
    template = tagged_template(tmp_path)
    project = tmp_path / "app"
    made = copier(
        "copy",
        "--trust",
        "--defaults",
        "--data",
        "ci=gitlab",
        "--vcs-ref",
        "v1.0.0",
        f"git+file://{template}",
        str(project),
    )
    assert made.returncode == 0, made.stderr
    checkout(project)
    remote = bare_remote(tmp_path, project)
    ci = gitlab(project, volumes=[f"{template}:{template}:ro", f"{remote}:{remote}"])
    # The token as the project's CI/CD settings hold it, scoped to the environment
    # template-update as the generated README says; and the URL mapping that holds it too.
    scoped = {
        "TEMPLATE_UPDATE_TOKEN": TOKEN,
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"url.file://{remote}.insteadOf",
        "GIT_CONFIG_VALUE_0": f"https://oauth2:{TOKEN}@{SERVER}/{PROJECT_PATH}.git",
    }
    settings = tmp_path / "ci-variables.yml"
    settings.write_text(
        yaml.safe_dump({name: {"values": {"template-update": v}} for name, v in scoped.items()})
    )

    def run(token_everywhere: bool = False) -> str:
        """Both jobs, as the schedule runs them; or, with the token given to every job (a
        variable left unscoped), the update job alone, which must refuse."""
        if token_everywhere:
            ran = ci.run("template-update", variables={**SCHEDULE, "TEMPLATE_UPDATE_TOKEN": TOKEN})
            assert ran.returncode != 0, ran.stdout + ran.stderr
            return ran.stdout + ran.stderr
        ran = ci.run(
            "template-update-push", variables=SCHEDULE, needs=True, variables_file=settings
        )
        log = ran.stdout + ran.stderr
        assert ran.returncode == 0, log
        assert re.findall(r"PASS\s+(\S+)", log) == ["template-update", "template-update-push"], log
        return log

    return template, remote, run


def remote_git(remote: Path, *args: str) -> str:
    return run_ok(["git", *args], remote).stdout.strip()


def test_an_unscoped_token_stops_the_update_before_the_templates_code_runs(scheduled_update):
    _, remote, run = scheduled_update
    log = run(token_everywhere=True)
    assert "TEMPLATE_UPDATE_TOKEN reaches this job, which runs the template's code" in log, log
    assert "copier update" not in log.split("TEMPLATE_UPDATE_TOKEN reaches")[-1], log
    assert not (remote / "pushes.log").exists() or not (remote / "pushes.log").read_text()


def test_the_template_update_opens_its_merge_request_once_and_refreshes_it_for_a_new_release(
    scheduled_update,
):
    """Three weekly runs, as act's test of GitHub's job: the first pushes the update and opens
    a merge request; the second, with the template unchanged, pushes nothing; the third, after
    a new template release, refreshes the branch. That release's migration records its
    environment in a file the update commits: what the template's code saw, the branch shows,
    and it never saw the token."""
    template, remote, run = scheduled_update
    run()
    # The update, relocked, on its branch, on top of the default branch.
    main = remote_git(remote, "rev-parse", DEFAULT_BRANCH)
    assert remote_git(remote, "rev-parse", "template-update^") == main
    answers = yaml.safe_load(remote_git(remote, "show", "template-update:.copier-answers.yml"))
    assert answers["_commit"] == "v2.0.0"
    assert "PYTHONUNBUFFERED=1" in remote_git(remote, "show", "template-update:Dockerfile")
    changed = remote_git(remote, "diff", "--name-only", DEFAULT_BRANCH, "template-update")
    assert sorted(changed.split()) == [".copier-answers.yml", "Dockerfile"]
    # One push, with GitLab's push options: a merge request into the default branch.
    pushes = (remote / "pushes.log").read_text().splitlines()
    assert [line.split() for line in pushes] == [
        [
            "refs/heads/template-update",
            "merge_request.create",
            f"merge_request.target={DEFAULT_BRANCH}",
        ]
    ]
    pushed = remote_git(remote, "rev-parse", "template-update")
    # A week later: the merge request is still open, the template has no newer version.
    log = run()
    assert remote_git(remote, "rev-parse", "template-update") == pushed
    assert len((remote / "pushes.log").read_text().splitlines()) == 1, log
    assert "The branch template-update already holds this update: nothing to push." in log
    # Then a new template release: the branch is refreshed with it.
    ignored = template / "template" / ".gitignore"
    ignored.write_text(ignored.read_text() + "# v3\n")
    record_what_the_template_sees(template)
    git = ["git", "-c", "user.name=T", "-c", "user.email=t@example.com"]
    run_ok([*git, "commit", "-q", "--no-verify", "-am", "v3.0.0"], template)
    run_ok(["git", "tag", "v3.0.0"], template)
    run()
    assert remote_git(remote, "rev-parse", "template-update") != pushed
    answers = yaml.safe_load(remote_git(remote, "show", "template-update:.copier-answers.yml"))
    assert answers["_commit"] == "v3.0.0"
    assert remote_git(remote, "show", "template-update:.gitignore").endswith("# v3")
    assert len((remote / "pushes.log").read_text().splitlines()) == 2
    seen = remote_git(remote, "show", f"template-update:{SEEN_BY_THE_TEMPLATE}")
    assert "CI_PIPELINE_SOURCE=schedule" in seen  # the job's environment, as the template saw it
    assert TOKEN not in seen and "TEMPLATE_UPDATE_TOKEN" not in seen, seen


def test_a_branch_that_changes_the_lock_runs_the_audit(gitlab, tmp_path):
    """`changes: [uv.lock]`, as gitlab-ci-local evaluates it: against the fetched default
    branch. A branch that leaves the lock alone runs no audit (the table above)."""
    project = gitlab_project(tmp_path / "app")
    (project / "uv.lock").write_text("version = 1\n")  # render() locks nothing: any change
    for command in (["checkout", "-qb", "bump"], ["add", "uv.lock"], ["commit", "-qm", "Lock"]):
        subprocess.run(
            ["git", "-c", "user.name=Owner", "-c", "user.email=owner@example.com", *command],
            cwd=project, check=True, capture_output=True,
        )  # fmt: skip
    branch = {"CI_COMMIT_BRANCH": "bump", "CI_COMMIT_REF_NAME": "bump"}
    assert "audit" in gitlab(project).selected(branch)
