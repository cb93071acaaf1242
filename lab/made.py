"""Projects made once per run for each way of making them, and copied for every test that asks
for the same one again. A copy costs a twentieth of a second, where a render costs about one
and a copier copy with its hook about four (uv lock included)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from lab.engine import RUN

# Set per worker or per test, and read by no render: left out of what makes two the same.
UNREAD = ("PYTEST_", "MYPY_CACHE_DIR")


def key(how: str, name: str, answers: dict[str, object]) -> str:
    """What a made project depends on: how it is made (a render, a copy with its tasks), the
    folder's name (the default project name), the answers, and the environment."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(UNREAD)}
    what = [how, name, sorted(answers.items()), sorted(environment.items())]
    return hashlib.sha256(json.dumps(what, default=repr).encode()).hexdigest()[:24]


def once(how: str, destination: Path, answers: dict[str, object], make: Callable[[], Path]) -> Path:
    """The project `make` writes at destination, made once per run: a later call with the same
    key gets a copy of the first one's files, as they were when it was made. Outside a run
    (no run folder), or into a folder that already holds files, it is made every time."""
    run = os.environ.get(RUN)
    if not run or (destination.exists() and any(destination.iterdir())):
        return make()
    store = Path(run) / "made" / key(how, destination.name, answers)
    if store.is_dir():  # complete: it only ever appears by a rename
        shutil.copytree(store, destination, symlinks=True, dirs_exist_ok=True)
        return destination
    made = make()
    partial = store.with_name(f"{store.name}.{os.getpid()}")
    partial.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(made, partial, symlinks=True)
    try:
        partial.rename(store)
    except OSError:  # another worker made the same one first
        shutil.rmtree(partial, ignore_errors=True)
    return made
