"""What the image jobs push reaches a registry under the tags and labels they promise: a local
registry (Debian's docker-registry, lab/registry.py) takes ghcr.io's or GitLab's place, and the
tests read back, through the registry's HTTP API (`/v2/<name>/tags/list`, the manifest, the
image's configuration blob), the tags and the OCI labels of each push.

What runs here, and what is left to the hosted runners:

- GitLab (`push-edge`, `push-release`): the job's whole `script:` runs in `sh -e`, as the
  docker:29 image's shell runs it, with the variables GitLab would give it and the job's own
  `variables:`; the smoke lines build (`docker buildx build --load`, sid's buildx on the
  engine's `docker` driver) and run the image for real. The push line is expanded by that same
  shell, then run as written minus the options the `docker` driver refuses ("Multi-platform
  build", "Attestation", "Cache export is not supported for the docker driver"): `--platform`,
  `--sbom`, `--provenance`, `--cache-to`. These need the `docker-container` driver that the
  job's `before_script` creates, with QEMU from tonistiigi/binfmt, and neither image can be
  pulled here; `docker login` is not needed by a registry without credentials. So one
  platform is pushed, with every tag and label the job computes.
- GitHub (`image` job): `docker/metadata-action` and `docker/build-push-action` cannot run
  here (GitHub's actions, not fetched). The job's own `run:` lines run in bash (the image name,
  lowercased; the smoke lines); the tags and labels are what metadata-action's README says it
  makes from the `tags:` input the workflow gives it, for each event; build-push-action's
  `tags`, `labels` and `push` become `docker buildx build --tag ... --label ... --push`, one
  platform, no SBOM, provenance or GitHub cache (the same `docker` driver limits).

The repository and project names have uppercase letters: registry names may not.
"""

from __future__ import annotations

import itertools
import re
import shlex
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import COPIER_YML, engines_too, missing, run_ok

from lab import debian
from lab import registry as local_registry
from lab.clients.gitlab import DEFAULT_BRANCH, checkout

KIND = "script"
VERSION_TAG = "v1.2.3"
OWNER_REPO = "My-Owner/My-Project"  # GitHub's spelling, kept in URLs and the image's title
GITLAB_PATH = "My-Group/My-Project"


@pytest.fixture
def registry():
    """A registry of its own for each test: what it lists was pushed by that test."""
    with local_registry.running() as started:
        if isinstance(started, str):
            missing(started)
        yield started


@pytest.fixture(scope="module")
def engine_env(docker, tmp_path_factory) -> dict[str, str]:
    """The engine's environment, `docker` first on PATH, with sid's buildx as its plugin."""
    folder = tmp_path_factory.mktemp("registry-push")
    try:
        config = debian.cli_plugins(folder / "docker-config", compose=None)
    except OSError as error:
        missing(f"buildx could not be fetched from Debian's archive: {error}")
    (folder / "bin").mkdir()
    (folder / "bin" / "docker").symlink_to(docker.client)
    path = f"{folder / 'bin'}:{docker.env['PATH']}"
    return {**docker.env, "DOCKER_CONFIG": str(config), "PATH": path}


@pytest.fixture
def pushed(docker):
    """Image names the test tagged in the engine, removed afterwards."""
    names: list[str] = []
    yield names
    if names:
        docker("image", "rm", "--force", *names, check=False)


def committed(project: Path) -> str:
    """A committed checkout on the default branch; its commit."""
    checkout(project)
    return run_ok(["git", "rev-parse", "HEAD"], project).stdout.strip()


def sh(lines: str, env: dict[str, str], cwd: Path, interpreter: str = "sh") -> str:
    """Run CI script lines as the CI's shell would (`sh -e` / `bash -e`): they are shell code."""
    done = subprocess.run(
        [interpreter, "-e", "-c", lines],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, f"{lines}\n{done.stdout}\n{done.stderr}"
    return done.stdout


# The push options BuildKit's `docker` driver refuses, whether they take a value.
NOT_ON_THE_DOCKER_DRIVER = {
    "--platform": True,
    "--cache-to": True,
    "--sbom": False,
    "--provenance": False,
}


def runnable_here(args: list[str]) -> tuple[list[str], dict[str, str]]:
    """A `docker buildx build` argument list without what the docker driver refuses: the rest,
    and what was left out ({option: value})."""
    kept: list[str] = []
    left_out: dict[str, str] = {}
    words = iter(args)
    for word in words:
        option, equals, value = word.partition("=")
        if option in NOT_ON_THE_DOCKER_DRIVER:
            takes_value = NOT_ON_THE_DOCKER_DRIVER[option] and not equals
            left_out[option] = next(words) if takes_value else value
        else:
            kept.append(word)
    return kept, left_out


def options(args: list[str], name: str) -> list[str]:
    """Every value of one option of an argument list (`--tag X`, `--tag=X`)."""
    found = [b for a, b in itertools.pairwise(args) if a == name]
    return found + [a.split("=", 1)[1] for a in args if a.startswith(f"{name}=")]


def labels_of(args: list[str]) -> dict[str, str]:
    return dict(label.split("=", 1) for label in options(args, "--label"))


def repository(image: str, registry: local_registry.Registry) -> str:
    assert image.startswith(f"{registry.host}/"), image
    return image.removeprefix(f"{registry.host}/")


# --- GitLab -------------------------------------------------------------------------------


def gitlab_job(pipeline: dict[str, Any], name: str) -> dict[str, Any]:
    """A job with what it `extends` merged in (hashes deeply, as GitLab does; one level)."""
    job = dict(pipeline[name])
    parent = pipeline[job.pop("extends")] if "extends" in job else {}
    merged = {**parent, **job}
    merged["variables"] = {**parent.get("variables", {}), **job.get("variables", {})}
    return merged


def flattened(script: list[Any]) -> list[str]:
    """A script as GitLab runs it: nested lists (YAML anchors of lists) flattened."""
    return [line for item in script for line in (item if isinstance(item, list) else [item])]


def expanded(value: str, variables: dict[str, str]) -> str:
    """A `variables:` value with the variables it names expanded, as GitLab does."""
    return re.sub(r"\$\{?(\w+)\}?", lambda m: variables.get(m.group(1), m.group(0)), value)


def gitlab_variables(
    registry: local_registry.Registry, sha: str, tag: str | None
) -> dict[str, str]:
    """What GitLab sets for a push (branch) or tag pipeline. CI_REGISTRY_IMAGE is the project's
    path lowercased, its host not (GitLab's behaviour, as gitlab-ci-local's PRs #1085 and #1087
    read it in GitLab's source); the project URL keeps the path's case."""
    variables = {
        "CI_REGISTRY": registry.host,
        "CI_REGISTRY_IMAGE": f"{registry.host}/{GITLAB_PATH.lower()}",
        "CI_PROJECT_PATH": GITLAB_PATH,
        "CI_PROJECT_URL": f"https://gitlab.example.com/{GITLAB_PATH}",
        "CI_COMMIT_SHA": sha,
        "CI_COMMIT_SHORT_SHA": sha[:8],
        "CI_DEFAULT_BRANCH": DEFAULT_BRANCH,
        "CI_PIPELINE_SOURCE": "push",
    }
    if tag:
        variables["CI_COMMIT_TAG"] = tag
    else:
        variables["CI_COMMIT_BRANCH"] = DEFAULT_BRANCH
    return variables


def run_gitlab_job(
    project: Path, name: str, variables: dict[str, str], env: dict[str, str], smoke: str
) -> list[str]:
    """Run a push job's script; return the push line's arguments as its shell expanded them
    (the line itself is then run by the caller, minus what cannot run here)."""
    job = gitlab_job(yaml.safe_load((project / ".gitlab-ci.yml").read_text()), name)
    defined = {key: expanded(str(value), variables) for key, value in job["variables"].items()}
    script = flattened(job["script"])
    push = script[-1]
    assert push.startswith("docker buildx build ") and push.endswith(" --push ."), push
    # The same shell expands the push line's words; printf hands them over one per NUL.
    words = project / "push-arguments"
    recorded = (
        f"printf '%s\\0' {push.removeprefix('docker buildx build ')} > {shlex.quote(str(words))}"
    )
    sh(
        "\n".join([*script[:-1], recorded]),
        {**env, **variables, **defined, "SMOKE_IMAGE": smoke},
        project,
    )
    args = words.read_text().split("\0")[:-1]
    assert options(args, "--platform") == [defined["PLATFORMS"]] == ["linux/amd64,linux/arm64"]
    return args


# The push commands name no base image; distroless's image, with no shell, goes through them
# once too.
@pytest.mark.parametrize(
    ("event", "base_image"),
    [
        ("default-branch", "python-slim"),
        ("version-tag", "python-slim"),
        ("version-tag", "distroless"),
    ],
)
def test_the_gitlab_push_jobs_push_their_tags_and_labels_to_the_lowercased_image(
    generated, registry, engine_env, docker, pushed, event, base_image
):
    project = generated(
        ci="gitlab", project_name="pushed", project_kind=KIND, base_image=base_image
    )
    sha = committed(project)
    tag = VERSION_TAG if event == "version-tag" else None
    variables = gitlab_variables(registry, sha, tag)
    smoke = f"smoke-{uuid.uuid4().hex[:10]}"
    pushed.append(smoke)
    job = "push-release" if tag else "push-edge"
    args = run_gitlab_job(project, job, variables, engine_env, smoke)

    kept, left_out = runnable_here(args)
    assert set(left_out) <= set(NOT_ON_THE_DOCKER_DRIVER) and "--sbom" in left_out, left_out
    run_ok([docker.client, "buildx", "build", *kept], project, env=engine_env, timeout=900)
    tags = options(kept, "--tag")
    pushed.extend(tags)

    image = variables["CI_REGISTRY_IMAGE"]
    name = repository(image, registry)
    assert name == "my-group/my-project"
    # The header of .gitlab-ci.yml: `edge` and the short SHA; `X.Y.Z` and `latest`.
    promised = ["1.2.3", "latest"] if tag else ["edge", sha[:8]]
    assert tags == [f"{image}:{t}" for t in promised]
    assert registry.tags(name) == sorted(promised)
    for reference in promised:
        labels = registry.labels(name, reference)
        assert labels["org.opencontainers.image.revision"] == sha
        assert (
            labels["org.opencontainers.image.source"] == f"https://gitlab.example.com/{GITLAB_PATH}"
        )
        assert labels["org.opencontainers.image.title"] == "pushed"  # the Dockerfile's
        # From the git tag; `edge` on the default branch, as GitHub's metadata-action says.
        assert labels["org.opencontainers.image.version"] == ("1.2.3" if tag else "edge")
        assert labels_of(kept).items() <= labels.items()


# --- GitHub -------------------------------------------------------------------------------


def enabled(expression: str, ref: str) -> bool:
    """The `enable=` expressions the workflow uses: `${{ [!]startsWith(github.ref, '...') }}`."""
    match = re.fullmatch(r"\$\{\{\s*(!?)startsWith\(github\.ref,\s*'([^']*)'\)\s*\}\}", expression)
    assert match, f"an enable= expression this test does not evaluate: {expression}"
    return ref.startswith(match.group(2)) != bool(match.group(1))


SEMVER = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")
# metadata-action's default priorities (README, "priority attribute"): the highest is the version.
PRIORITY = {
    "schedule": 1000,
    "semver": 900,
    "pep440": 900,
    "match": 800,
    "edge": 700,
    "ref": 600,
    "raw": 200,
    "sha": 100,
}


def metadata(
    spec: str, event: str, ref: str, sha: str, default_branch: str
) -> tuple[list[str], str]:
    """The tags and the version docker/metadata-action makes from a `tags:` input, as its README
    documents the types this workflow uses (edge, sha, ref, semver; flavor latest=auto: `latest`
    beside a semver tag of a release). Another type or attribute fails the test."""
    made: list[tuple[int, int, str]] = []
    semver = False
    for order, line in enumerate(filter(None, map(str.strip, spec.splitlines()))):
        attributes = dict(part.split("=", 1) for part in re.split(r",(?![^{]*\}\})", line))
        kind = attributes.pop("type")
        if "enable" in attributes and not enabled(attributes.pop("enable"), ref):
            continue
        value = None
        if kind == "edge":
            branch = attributes.pop("branch", default_branch)
            value = "edge" if ref == f"refs/heads/{branch}" else None
        elif kind == "sha":
            value = f"sha-{sha[:7]}"  # prefix sha-, format short: 7 characters
        elif kind == "ref":
            on = attributes.pop("event")
            if on == "pr" and event == "pull_request":
                value = f"pr-{ref.split('/')[2]}"
            elif on == "branch" and ref.startswith("refs/heads/"):
                value = ref.removeprefix("refs/heads/").replace("/", "-")
            elif on == "tag" and ref.startswith("refs/tags/"):
                value = ref.removeprefix("refs/tags/")
        elif kind == "semver":
            version = SEMVER.fullmatch(ref.removeprefix("refs/tags/"))
            pattern = attributes.pop("pattern")
            if ref.startswith("refs/tags/") and version:
                major, minor, patch = version.groups()
                parts = {"major": major, "minor": minor, "patch": patch}
                parts["version"] = f"{major}.{minor}.{patch}"
                value = re.sub(r"\{\{(\w+)\}\}", lambda m, parts=parts: parts[m.group(1)], pattern)
                semver = True
        else:
            raise AssertionError(f"a metadata-action tag type this test does not know: {line}")
        assert not attributes, f"attributes this test does not evaluate: {attributes} in {line}"
        if value is not None and value not in [v for _, _, v in made]:
            made.append((-PRIORITY[kind], order, value))
    tags = [value for _, _, value in sorted(made)]
    return tags + (["latest"] if semver else []), (tags[0] if tags else "")


def github_labels(version: str, sha: str) -> dict[str, str]:
    """metadata-action's default labels (README, "labels output"), for a repository with no
    description or license on GitHub."""
    url = f"https://github.com/{OWNER_REPO}"
    return {
        "org.opencontainers.image.title": OWNER_REPO.split("/")[1],
        "org.opencontainers.image.description": "",
        "org.opencontainers.image.url": url,
        "org.opencontainers.image.source": url,
        "org.opencontainers.image.version": version,
        "org.opencontainers.image.created": "2026-12-01T00:00:00.000Z",
        "org.opencontainers.image.revision": sha,
        "org.opencontainers.image.licenses": "",
    }


def step(steps: list[dict[str, Any]], **match: str) -> dict[str, Any]:
    (found,) = [s for s in steps if all(str(s.get(k, "")).startswith(v) for k, v in match.items())]
    return found


def label_args(labels: dict[str, str]) -> list[str]:
    return [word for key, value in labels.items() for word in ("--label", f"{key}={value}")]


@pytest.mark.parametrize("event", engines_too(["default-branch", "version-tag"], "version-tag"))
def test_the_github_image_job_pushes_metadata_tags_and_labels_to_the_lowercased_image(
    tmp_path, generated, registry, engine_env, docker, pushed, event
):
    project = generated(ci="github", project_name="pushed", project_kind=KIND)
    sha = committed(project)
    ref = f"refs/tags/{VERSION_TAG}" if event == "version-tag" else f"refs/heads/{DEFAULT_BRANCH}"
    steps = yaml.safe_load((project / ".github/workflows/ci.yml").read_text())["jobs"]["image"][
        "steps"
    ]

    # The job's own line names the image (bash: GitHub's shell for `run:`); ghcr.io's place is
    # the local registry's.
    output = tmp_path / "github-output"
    github = {**engine_env, "GITHUB_REPOSITORY": OWNER_REPO, "GITHUB_OUTPUT": str(output)}
    sh(step(steps, id="name")["run"], github, project, interpreter="bash")
    named = output.read_text().strip().removeprefix("image=")
    assert named == "ghcr.io/my-owner/my-project"
    image = named.replace("ghcr.io", registry.host, 1)

    meta = step(steps, uses="docker/metadata-action@")["with"]
    made, version = metadata(meta["tags"], "push", ref, sha, DEFAULT_BRANCH)
    # The workflow's header: `edge` and `sha-<commit>`; `X.Y.Z`, `X.Y` and `latest`.
    assert made == (
        ["1.2.3", "1.2", "latest"] if ref.startswith("refs/tags/") else ["edge", f"sha-{sha[:7]}"]
    )
    assert version == ("1.2.3" if ref.startswith("refs/tags/") else "edge")
    # The job's own step (bash) drops metadata-action's title, description and licenses.
    labels_output = tmp_path / "labels-output"
    given = "\n".join(f"{k}={v}" for k, v in github_labels(version, sha).items())
    kept_env = {**engine_env, "LABELS": given, "GITHUB_OUTPUT": str(labels_output)}
    sh(step(steps, id="labels")["run"], kept_env, project, interpreter="bash")
    first, *lines, last = labels_output.read_text().splitlines()
    assert (first, last) == ("labels<<LABELS_END", "LABELS_END")
    labels = dict(line.split("=", 1) for line in lines)

    # build-push-action, load: true, then the job's smoke lines in bash, on that image.
    smoke = f"smoke-{uuid.uuid4().hex[:10]}"
    pushed.append(smoke)
    build = [docker.client, "buildx", "build", *label_args(labels)]
    run_ok([*build, "--load", "--tag", smoke, "."], project, env=engine_env, timeout=900)
    greeting = sh(
        step(steps, name="Run the image before pushing it")["run"],
        {**engine_env, "SMOKE_IMAGE": smoke},
        project,
        interpreter="bash",
    )
    assert greeting.startswith("Hello from pushed! (Python "), greeting
    # What the lowercasing is for: Docker refuses the repository's own spelling.
    refused = docker("tag", smoke, f"{registry.host}/{OWNER_REPO}:edge", check=False)
    assert "must be lowercase" in refused.stderr, refused.stderr

    # build-push-action, push: true (one platform here, see the module's docstring).
    pushing = step(steps, id="build")["with"]
    assert pushing["tags"] == "${{ steps.meta.outputs.tags }}"
    assert pushing["labels"] == "${{ steps.labels.outputs.labels }}"
    tags = [f"{image}:{t}" for t in made]
    pushed.extend(tags)
    run_ok(
        [*build, *(w for t in tags for w in ("--tag", t)), "--push", "."],
        project,
        env=engine_env,
        timeout=900,
    )

    name = repository(image, registry)
    assert registry.tags(name) == sorted(made)
    for reference in made:
        found = registry.labels(name, reference)
        # metadata-action's version, revision and source from the ref; the Dockerfile's title,
        # description and licenses, from the answers (not the GitHub repository's, empty here).
        expected = {
            **labels,
            "org.opencontainers.image.title": "pushed",
            "org.opencontainers.image.description": COPIER_YML["description"]["default"],
            "org.opencontainers.image.licenses": COPIER_YML["license"]["default"],
        }
        assert {key: found.get(key) for key in expected} == expected
