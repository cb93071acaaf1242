"""What the tests and the benchmark do with the template: the copier command line that makes a
project from this working tree, and a generated app made to run until it is stopped."""

from __future__ import annotations

import re
from pathlib import Path

from lab.paths import ROOT


def copy_args(destination: Path, **answers: object) -> list[str]:
    """`copier` arguments that generate a project here, tasks run, other answers defaulted."""
    data = [arg for key, value in answers.items() for arg in ("--data", f"{key}={value}")]
    return ["copy", "--trust", "--defaults", *data, str(ROOT), str(destination)]


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
