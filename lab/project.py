"""What the tests and the benchmark do with the template: the copier command line that makes a
project from this working tree, and a generated app made to run until it is stopped."""

from __future__ import annotations

from pathlib import Path

from lab.paths import ROOT


def copy_args(destination: Path, **answers: object) -> list[str]:
    """`copier` arguments that generate a project here, tasks run, other answers defaulted."""
    data = [arg for key, value in answers.items() for arg in ("--data", f"{key}={value}")]
    return ["copy", "--trust", "--defaults", *data, str(ROOT), str(destination)]


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
