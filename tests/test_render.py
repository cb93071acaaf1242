"""Every variant renders to the guide's tree; generated projects pass their own checks."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from helpers import (
    BASE_IMAGES,
    ROOT,
    VARIANTS,
    base_images_of,
    computed,
    image,
    python_for,
    render,
    require_python,
    run_ok,
    slim_image,
    uv_python_image,
)

GUIDE_TREE = {"main.py", "pyproject.toml", "Dockerfile"}
EXPECTED = GUIDE_TREE | {
    ".copier-answers.yml",
    ".dockerignore",
    ".gitignore",
    ".python-version",
    "README.md",
    "tests/test_main.py",
    "prepare_image.py",
    "tests/test_prepare_image.py",
    "compose.yaml",
    ".pre-commit-config.yaml",
    ".github/dependabot.yml",
    ".github/workflows/ci.yml",
    ".github/workflows/audit.yml",
}  # no template-update job: these come from a local path, which no runner reaches


@pytest.mark.parametrize(("base_image", "python"), VARIANTS)
def test_every_variant_renders_the_guide_tree_for_its_python(
    tmp_path: Path, base_image: str, python: str
):
    project = render(tmp_path / "p", base_image=base_image, python_version=python)
    files = {p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file()}
    assert files == EXPECTED
    assert (project / ".python-version").read_text() == f"{python}\n"
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["requires-python"] == f">={python}"
    assert pyproject["tool"]["ruff"]["target-version"] == f"py{python.replace('.', '')}"
    dockerfile = (project / "Dockerfile").read_text()
    if base_image == "python-slim":
        uv = image("uv_image")
        # The image starts from the builder, which starts from the slim image.
        assert base_images_of(project) == [uv, slim_image(python)]
        assert "\nFROM builder\n" in dockerfile
        # uv from a FROM line of its own (which Dependabot moves), mounted in the builder's
        # steps and copied into the dev stage only.
        assert f"FROM {uv} AS uv\n" in dockerfile and "COPY --from=uv /uv /uvx /bin/" in dockerfile
        assert "--mount=type=bind,from=uv,source=/uv,target=/bin/uv" in dockerfile
    elif base_image == "uv":
        # The same pipeline on uv's image (uv kept): the image starts from the builder.
        assert base_images_of(project) == [uv_python_image(python)]
        assert "\nFROM builder\n" in dockerfile
        assert "AS uv" not in dockerfile
    else:
        # Built on distroless's nonroot tag and shipped as that builder plus the code; the dev
        # stage on the slim image; no step of the builder needs a shell.
        runtime = computed(base_image=base_image, python_version=python)["runtime_image"]
        assert base_images_of(project) == [image("uv_image"), runtime, slim_image(python)]
        assert runtime.endswith(":nonroot") and "\nFROM builder\n" in dockerfile


@pytest.mark.parametrize(("base_image", "python"), VARIANTS)
def test_every_rendered_dockerfile_is_hadolint_clean_and_reads_as_handwritten(
    tmp_path: Path, base_image: str, python: str
):
    project = render(tmp_path / "p", base_image=base_image, python_version=python)
    lint = subprocess.run(
        ["hadolint", "--format", "json", "Dockerfile"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert json.loads(lint.stdout) == [], lint.stdout
    dockerfile = (project / "Dockerfile").read_text()
    assert "{{" not in dockerfile and "{%" not in dockerfile
    assert "\n\n\n\n" not in dockerfile and not dockerfile.startswith("\n")
    assert dockerfile.endswith("\n") and not dockerfile.endswith("\n\n")
    for line in dockerfile.splitlines():
        assert line == line.rstrip(), f"trailing spaces: {line!r}"
    # Every instruction has a comment above it or belongs to a commented group.
    assert dockerfile.lstrip().startswith("#")


def test_no_rendered_file_keeps_jinja_syntax_or_template_suffix(tmp_path: Path):
    project = render(tmp_path / "p")
    for path in project.rglob("*"):
        assert not path.name.endswith(".jinja")
        if path.is_file():
            # GitHub Actions expressions, `${{ ... }}`, metadata-action's own patterns,
            # `{{version}}`, and docker's `--format '{{ json .SBOM }}'` are meant to be there.
            text = re.sub(r"pattern=[{}.\w]+", "", path.read_text().replace("${{", ""))
            text = re.sub(r"'\{\{ json \.\w+ \}\}'", "", text)
            assert "{{" not in text and "{%" not in text, path


def test_answers_file_records_every_question_for_copier_update(tmp_path: Path):
    # From the git repository itself, as a user copies it: the commit is recorded too.
    project = render(tmp_path / "p", source=ROOT, base_image="uv", python_version="3.13")
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["base_image"] == "uv"
    assert answers["python_version"] == "3.13"
    assert answers["_src_path"]
    assert answers["_commit"]
    # Computed values are not answers: an update must bring the template's newer pins.
    assert "uv_version" not in answers and "base_image_ref" not in answers


def test_generated_pyproject_is_valid_pep_621(tmp_path: Path):
    project = render(tmp_path / "p", author_name="Ada", author_email="ada@example.org")
    run_ok([sys.executable, "-m", "validate_pyproject", "pyproject.toml"], cwd=project)
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert any(d.startswith("pytest") for d in pyproject["dependency-groups"]["dev"])
    assert any(d.startswith("ruff") for d in pyproject["dependency-groups"]["dev"])


@pytest.mark.parametrize(("base_image", "python"), VARIANTS)
def test_copy_locks_the_project_for_every_python_choice(generated, base_image: str, python: str):
    require_python(python)
    project = generated(base_image=base_image, python_version=python)
    lock = tomllib.loads((project / "uv.lock").read_text())
    assert lock["requires-python"] == f">={python}"
    run_ok(["uv", "lock", "--check"], cwd=project)


@pytest.mark.parametrize("kind", ["script", "service", "package"])
def test_a_fresh_project_of_every_kind_runs_its_tests_without_a_warning(generated, kind: str):
    # -W error: a deprecation in the locked packages (Starlette's, for a TestClient on httpx)
    # fails the run instead of greeting the owner at every test run.
    project = generated(project_name="warned", project_kind=kind)
    run_ok(["uv", "run", "--locked", "pytest", "-q", "-W", "error"], cwd=project)


@pytest.mark.parametrize("base_image", BASE_IMAGES)
def test_generated_project_passes_its_own_checks_out_of_the_box(generated, base_image: str):
    project = generated(project_name="checked-app", base_image=base_image)
    run_ok(["uv", "sync", "--locked"], cwd=project)
    run_ok(["uv", "run", "--locked", "pytest", "-q"], cwd=project)
    run_ok(["uv", "run", "--locked", "ruff", "check"], cwd=project)
    run_ok(["uv", "run", "--locked", "ruff", "format", "--check"], cwd=project)
    ran = run_ok(["uv", "run", "--locked", "python", "main.py"], cwd=project)
    assert ran.stdout.startswith(f"Hello from checked-app! (Python {python_for(base_image)}.")


# Every kind also gets what its image's builder runs, with its tests.
IMAGE_PREPARATION = {"prepare_image.py", "tests/test_prepare_image.py"}
KIND_TREES = {
    "script": {"main.py", "tests/test_main.py"} | IMAGE_PREPARATION,
    "service": {"main.py", "healthcheck.py", "tests/test_main.py"} | IMAGE_PREPARATION,
    "package": {"src/kinds/__init__.py", "src/kinds/__main__.py", "tests/test_main.py"}
    | IMAGE_PREPARATION,
}


@pytest.mark.parametrize("kind", KIND_TREES)
def test_each_kind_renders_its_own_tree_and_command(tmp_path: Path, kind: str):
    project = render(tmp_path / "kinds", project_kind=kind, devcontainer=True)
    files = {p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file()}
    code = {f for f in files if f.endswith(".py")}
    assert code == KIND_TREES[kind]
    assert ".devcontainer/devcontainer.json" in files
    dockerfile = (project / "Dockerfile").read_text()
    command = '["kinds"]' if kind == "package" else '["python", "main.py"]'
    assert dockerfile.rstrip().endswith(f"CMD {command}")
    assert ("HEALTHCHECK" in dockerfile) == (kind == "service")
    assert ("EXPOSE 8000" in dockerfile) == (kind == "service")
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    if kind == "package":
        assert pyproject["project"]["scripts"] == {"kinds": "kinds:main"}
        assert pyproject["build-system"]["build-backend"] == "uv_build"
    else:
        assert "build-system" not in pyproject
