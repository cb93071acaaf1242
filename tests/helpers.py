"""The template's own facts, the machine's Pythons, and runs of copier and uv, for every test."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
COPIER_YML = yaml.safe_load((ROOT / "copier.yml").read_text())
PYTHON_CHOICES: list[str] = COPIER_YML["python_version"]["choices"]
DEFAULT_PYTHON: str = COPIER_YML["python_version"]["default"]
BASE_IMAGES: list[str] = list(COPIER_YML["base_image"]["choices"].values())
UV_VERSION: str = COPIER_YML["uv_version"]["default"]
DEBIAN: str = COPIER_YML["debian_release"]["default"]


def slim_image(python: str) -> str:
    return f"python:{python}-slim-{DEBIAN}"


def uv_python_image(python: str) -> str:
    return f"ghcr.io/astral-sh/uv:{UV_VERSION}-python{python}-{DEBIAN}-slim"


def base_images_of(project: Path) -> list[str]:
    """The images a project's Dockerfile starts its stages from, in order."""
    return re.findall(r"^FROM (\S+)", (project / "Dockerfile").read_text(), re.M)


def _prepare_environment() -> None:
    """Make every run see the same, offline-safe world, whatever shell started pytest."""
    # uv must never try to download an interpreter: the tests say which ones the machine has.
    os.environ["UV_PYTHON_DOWNLOADS"] = "never"
    # `uv run pytest` exports the repository's venv; generated projects have their own.
    os.environ.pop("VIRTUAL_ENV", None)
    # pyenv's shims answer for one version at a time; make them answer for all of them,
    # the current one first, so that uv finds every installed interpreter.
    pyenv = shutil.which("pyenv")
    if pyenv and "PYENV_VERSION" not in os.environ:
        listed = subprocess.run([pyenv, "versions", "--bare"], capture_output=True, text=True)
        current = subprocess.run([pyenv, "version-name"], capture_output=True, text=True)
        versions = [current.stdout.strip(), *listed.stdout.split()]
        os.environ["PYENV_VERSION"] = ":".join(dict.fromkeys(v for v in versions if v))
    for key in ("AUTHOR", "COMMITTER"):
        os.environ.setdefault(f"GIT_{key}_NAME", "Template Tests")
        os.environ.setdefault(f"GIT_{key}_EMAIL", "tests@example.org")


_prepare_environment()


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


def unlockable_pythons() -> list[str]:
    return [v for v in PYTHON_CHOICES if v not in lockable_pythons()]


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
