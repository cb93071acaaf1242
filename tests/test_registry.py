"""Every image a generated project names is one the registries publish (published-images.yml).

The record says what each registry publishes for the template's pins, and where that was read.
Every answer combination is rendered and each image reference it holds is checked against the
record; a combination that would name anything else must be refused by a validator. Where a
registry answers, each reference is also inspected there for real.
"""

from __future__ import annotations

import itertools
import os
import re
from functools import cache
from pathlib import Path

import pytest
from helpers import (
    BASE_IMAGES,
    PUBLISHED,
    PYTHON_CHOICES,
    UV_VERSION,
    computed,
    is_published,
    render,
    uv_python_image,
)

from lab import standins
from lab.record import manifest_exists, references
from lab.template import choices

CI_CHOICES: list[str] = choices("ci")
KINDS: list[str] = choices("project_kind")
# Every question whose answer changes which images a project names.
COMBINATIONS = [
    dict(zip(("base_image", "python_version", "ci", "project_kind"), combo, strict=True))
    for combo in itertools.product(BASE_IMAGES, PYTHON_CHOICES, CI_CHOICES, KINDS)
]
REQUIRE_REGISTRY = "COPIER_UV_DOCKER_REQUIRE_REGISTRY"


def combination_id(answers: dict[str, str]) -> str:
    return "-".join(answers.values())


@cache
def rendered(
    base_image: str, python_version: str, ci: str, root: Path, project_kind: str = "script"
) -> dict[str, set[str]]:
    """The image references of one combination, or {} with a "refused" entry if refused."""
    destination = root / f"{base_image}-{python_version}-{ci}-{project_kind}"
    answers = {"base_image": base_image, "python_version": python_version, "ci": ci}
    try:
        render(destination, **answers, project_kind=project_kind, devcontainer=True)
    except ValueError as refusal:
        return {"refused": {str(refusal)}}
    return references(destination)


@pytest.fixture(scope="module")
def renders(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("renders")


def test_the_record_says_where_and_when_each_fact_was_read():
    for repository, entry in PUBLISHED.items():
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(entry["read"])), repository
        assert len(str(entry["source"])) > 40, f"{repository}: say where it was read"
        assert entry["tags"], repository


def test_the_uv_pin_and_the_uv_tags_of_the_record_move_together():
    tags = PUBLISHED["ghcr.io/astral-sh/uv"]["tags"]
    assert all(tag == UV_VERSION or tag.startswith(f"{UV_VERSION}-") for tag in tags), (
        f"uv is pinned to {UV_VERSION} but the record lists tags of another release: {tags}"
    )


@pytest.mark.parametrize("answers", COMBINATIONS, ids=combination_id)
def test_every_image_a_project_names_is_published_or_the_answers_are_refused(
    renders: Path, answers: dict[str, str]
):
    found = rendered(**answers, root=renders)
    if "refused" in found:
        (reason,) = found["refused"]
        # Refused only for naming an image the record does not list, or one whose record
        # names another Python, and saying which.
        one_python = re.search(r": (\S+) has Python (\S+) only: ", reason)
        if one_python:
            repository, python = one_python.groups()
            assert PUBLISHED[repository]["python"] == python != answers["python_version"], reason
            return
        named = re.search(r"\(?(ghcr\.io/\S+?:\S+?)\)?[,:]? ", reason)
        assert named and not is_published(named.group(1)), reason
        return
    assert found.get("Dockerfile"), "the Dockerfile names no image"
    for path, images in found.items():
        for image in images:
            assert is_published(image), f"{path} names {image}, which no registry publishes"


def test_every_image_of_a_gitlab_project_on_the_uv_image_is_found(renders: Path):
    assert rendered("uv", "3.13", "gitlab", renders) == {
        "Dockerfile": {uv_python_image("3.13")},
        ".gitlab-ci.yml": {
            uv_python_image("3.13"),
            "docker:29",
            "docker:29-dind",
            "tonistiigi/binfmt:qemu-v10.2.3",
        },
    }


def test_the_guides_combination_and_python_slim_for_every_version_are_accepted(renders: Path):
    assert "refused" not in rendered("uv", "3.12", "github", renders)
    for python in PYTHON_CHOICES:
        for ci in CI_CHOICES:
            if ci != "gitlab":
                assert "refused" not in rendered("python-slim", python, ci, renders)


def all_references(root: Path) -> list[str]:
    """Every reference named by an accepted combination."""
    found = [rendered(**answers, root=root) for answers in COMBINATIONS]
    return sorted({i for refs in found if "refused" not in refs for v in refs.values() for i in v})


def unreachable() -> str | None:
    """Why the registries cannot be asked from here, or None when they can."""
    for repository, entry in PUBLISHED.items():
        reference = f"{repository}:{entry['tags'][0]}"
        try:
            manifest_exists(reference)
        except OSError as error:
            return f"the registry of {reference} does not answer ({error})"
    return None


def test_every_rendered_reference_exists_in_its_registry(renders: Path):
    if reason := unreachable():
        if os.environ.get(REQUIRE_REGISTRY):
            pytest.fail(f"{REQUIRE_REGISTRY} is set, but {reason}", pytrace=False)
        pytest.skip(f"offline: {reason} (.github/workflows/tests.yml runs this online)")
    missing = [name for name in all_references(renders) if not manifest_exists(name)]
    assert not missing, f"named by generated projects, yet not in their registry: {missing}"


@pytest.mark.parametrize(
    "name",
    [
        uv_python_image("3.15"),
        computed(python_version="3.12", debian_release="bookworm")["uv_python_image"],
        "python:3.9-slim-trixie",
    ],
)
def test_the_stand_in_builder_refuses_an_image_no_registry_publishes(tmp_path: Path, name: str):
    with pytest.raises(SystemExit, match="no stand-in for it"):
        standins.make("/nonexistent/docker", [name], UV_VERSION, "trixie", tmp_path)
    assert not list(tmp_path.iterdir())
