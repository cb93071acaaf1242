"""The template's own facts, the machine's Pythons, and runs of copier and uv, for every test."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pythons
import standins
from copier._template import load_template_config

ROOT = Path(__file__).resolve().parents[1]


def _prepare_environment() -> None:
    """Make every run see the same, offline-safe world, whatever shell started pytest."""
    # uv must never try to download an interpreter: the tests say which ones the machine has.
    os.environ["UV_PYTHON_DOWNLOADS"] = "never"
    # `uv run pytest` exports the repository's venv; generated projects have their own.
    os.environ.pop("VIRTUAL_ENV", None)
    # Real interpreters, one link per version (tests/pythons.py), ahead of pyenv's shims: a shim
    # answers for the one version in PYENV_VERSION, which a uv started through a shim exports.
    first = str(pythons.bin_dir())
    if os.environ["PATH"].split(os.pathsep)[0] != first:
        os.environ["PATH"] = os.pathsep.join([first, os.environ["PATH"]])
    for key in ("AUTHOR", "COMMITTER"):
        os.environ.setdefault(f"GIT_{key}_NAME", "Template Tests")
        os.environ.setdefault(f"GIT_{key}_EMAIL", "tests@example.org")
    # Copier runs tasks with plumbum's copy of the environment, taken when pytest-copie's plugin
    # first imported it: bring that copy in line too.
    from plumbum import local

    local.env.clear()
    local.env.update(**os.environ)


_prepare_environment()
COPIER_YML = load_template_config(ROOT / "copier.yml")

PYTHON_CHOICES: list[str] = COPIER_YML["python_version"]["choices"]
DEFAULT_PYTHON: str = COPIER_YML["python_version"]["default"]
BASE_IMAGES: list[str] = list(COPIER_YML["base_image"]["choices"].values())
UV_VERSION: str = COPIER_YML["uv_version"]["default"]
DEBIAN: str = COPIER_YML["debian_release"]["default"]
# What the registries publish: {repository: {"tags": [...], "source": ..., "read": ...}}.
# The registry record (published-images.yml), read once, as the stand-in builder reads it.
PUBLISHED: dict[str, dict[str, Any]] = standins.record()
is_published = standins.published


def slim_image(python: str) -> str:
    return f"python:{python}-slim-{DEBIAN}"


def uv_python_image(python: str) -> str:
    return f"ghcr.io/astral-sh/uv:{UV_VERSION}-python{python}-{DEBIAN}-slim"


def base_image_published(base_image: str, python: str) -> bool:
    """Whether this base image exists for this Python (the validator refuses it otherwise)."""
    return base_image != "uv" or is_published(uv_python_image(python))


# Every (base_image, python_version) pair the questions accept.
VARIANTS: list[tuple[str, str]] = [
    (b, v) for b in BASE_IMAGES for v in PYTHON_CHOICES if base_image_published(b, v)
]


def _chosen(variable: str, default: list[str]) -> list[str]:
    """A subset named in the environment (space- or comma-separated), else the default."""
    named = os.environ.get(variable, "").replace(",", " ").split()
    return [value for value in default if value in named] if named else default


# The pairs whose images the image tests build: all of them, unless a CI job takes a share
# (.github/workflows/tests.yml runs one job per pair).
IMAGE_VARIANTS: list[tuple[str, str]] = [
    (b, v)
    for b, v in VARIANTS
    if b in _chosen("COPIER_UV_DOCKER_IMAGE_BASES", BASE_IMAGES)
    and v in _chosen("COPIER_UV_DOCKER_IMAGE_PYTHONS", PYTHON_CHOICES)
]


# A long-running app: the template's main.py with a loop instead of one line.
LOOP = """
def main() -> None:
    while True:
        print(greeting(), flush=True)
        time.sleep(0.2)
"""


def long_running(project: Path) -> None:
    """Make a script or package project's app run until stopped (SIGTERM handling kept)."""
    main = next(project.glob("src/*/__init__.py"), project / "main.py")
    loop = LOOP.replace(
        "def main() -> None:\n", "def main() -> None:\n    signal.signal(signal.SIGTERM, stop)\n"
    )
    if "src" not in main.parts:
        loop = LOOP
    pattern = (
        r"\ndef main\(\) -> None:\n(    \"\"\".*\"\"\"\n)?"
        r"(    signal\.signal\(signal\.SIGTERM, stop\)\n)?    print\(greeting\(\)\)\n"
    )
    text = re.sub(pattern, loop, main.read_text())
    main.write_text(text.replace("import signal\n", "import signal\nimport time\n"))
    assert "while True" in main.read_text()


def wait_for(what: str, probe: Callable[[], bool], seconds: float = 120) -> None:
    """Poll until probe() is true; fail the test, naming what never came, after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if probe():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}")


def base_images_of(project: Path) -> list[str]:
    """The images a project's Dockerfile starts its stages from, in order (not its stages)."""
    text = (project / "Dockerfile").read_text()
    stages = set(re.findall(r"^FROM \S+ AS (\S+)", text, re.M))
    return [name for name in re.findall(r"^FROM (\S+)", text, re.M) if name not in stages]


REQUIRE = "COPIER_UV_DOCKER_REQUIRE"


def missing(reason: str) -> None:
    """Skip for something this machine lacks, or fail where nothing may be missing (CI)."""
    import pytest

    if os.environ.get(REQUIRE):
        pytest.fail(f"{REQUIRE} is set, but {reason}", pytrace=False)
    pytest.skip(reason)


def require_python(version: str) -> None:
    if version not in lockable_pythons():
        missing(f"uv finds no Python {version} here (tests/pythons.py makes one, as root)")


@cache
def lockable_pythons() -> list[str]:
    """The python_version choices that uv finds an interpreter for on this machine."""
    found = []
    for version in PYTHON_CHOICES:
        probe = subprocess.run(
            ["uv", "python", "find", "--no-project", version],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0:
            found.append(version)
    return found


def copier(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real copier command line, as a user would, with copier's interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "copier", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def copy_args(destination: Path, **answers: object) -> list[str]:
    data = [arg for key, value in answers.items() for arg in ("--data", f"{key}={value}")]
    return ["copy", "--trust", "--defaults", *data, str(ROOT), str(destination)]


def run_ok(command: list[str], cwd: Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run a command in a generated project and fail the test with its output if it fails."""
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]
    assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"
    return done


def path_without(tmp_path: Path, *missing: str) -> Path:
    """A folder of links to every command on PATH except these: a PATH without uv, docker..."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for directory in os.environ["PATH"].split(os.pathsep):
        for command in Path(directory).glob("*") if Path(directory).is_dir() else ():
            link = folder / command.name
            if command.name not in missing and not link.exists() and os.access(command, os.X_OK):
                link.symlink_to(command)
    return folder


def render(destination: Path, **answers: object) -> Path:
    """Render the template in-process with copier's API, tasks skipped: the fast path."""
    import copier as copier_api

    copier_api.run_copy(
        str(ROOT),
        str(destination),
        data=answers,
        defaults=True,
        unsafe=True,
        skip_tasks=True,
        quiet=True,
    )
    return destination
