"""What the tests and the benchmark do with the template: the copier command line that makes a
project from this working tree, and a generated app made to run until it is stopped."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from lab.paths import ROOT

# A plain copy of this working tree that renders stand on (the tests make one per run).
SOURCE = "COPIER_UV_DOCKER_SOURCE"


def source() -> Path:
    """What copies render from: the run's plain copy of this working tree, else the repository
    itself. Copier renders a plain folder in place, while it clones a git repository, dirty
    changes included, on every render (0.5-0.7 s against 0.3-0.4 s a render, measured here)."""
    return Path(os.environ.get(SOURCE, ROOT))


def plain_copy(destination: Path) -> Path:
    """Copy this repository's files as git sees them (tracked and untracked, not ignored) into
    destination, without .git."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    for name in filter(None, listed.stdout.split("\0")):
        if (ROOT / name).is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, destination / name)
    return destination


def copy_args(destination: Path, **answers: object) -> list[str]:
    """`copier` arguments that generate a project here, tasks run, other answers defaulted."""
    data = [arg for key, value in answers.items() for arg in ("--data", f"{key}={value}")]
    return ["copy", "--trust", "--defaults", *data, str(source()), str(destination)]


# A long-running app: the template's main() printing in a loop instead of once, its signal
# handlers kept.
LOOP = """    while True:
        print(greeting(), flush=True)
        time.sleep(0.2)
"""


def long_running(project: Path) -> None:
    """Make a script or package project's app run until stopped (its signal handling kept)."""
    main = next(project.glob("src/*/__init__.py"), project / "main.py")
    text = main.read_text()
    assert text.count("    print(greeting())\n") == 1, main
    text = text.replace("    print(greeting())\n", LOOP)
    main.write_text(text.replace("import signal\n", "import signal\nimport time\n"))
