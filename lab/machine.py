"""The environment every run of copier and uv sees, whatever shell started it.

The tests and the benchmark both call `prepare()` before anything captures the environment:
the Docker engine's environment and Copier's copy of it (for tasks) are taken from it.
"""

from __future__ import annotations

import os

from lab import pythons


def prepare() -> None:
    """Make every run see the same, offline-safe world, whatever shell started it."""
    # uv must never try to download an interpreter: the tests say which ones the machine has.
    os.environ["UV_PYTHON_DOWNLOADS"] = "never"
    # `uv run pytest` exports the repository's venv; generated projects have their own.
    os.environ.pop("VIRTUAL_ENV", None)
    # Real interpreters, one link per version (lab/pythons.py), ahead of pyenv's shims: a shim
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
