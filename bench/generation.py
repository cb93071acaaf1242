"""What the benchmark measures of `copier copy`: ours against a one-file template plus a bare
`uv lock`, in paired rounds, and where one copy's time goes (a cProfile and Jinja's counts)."""

from __future__ import annotations

import collections
import json
import os
import pstats
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

from bench.contenders import run, timed
from lab.template import COPIER_YML

OFFLINE = ", uv offline"  # starts per container: the first (a fresh container's) and warm ones


# Its file in a subfolder, as ours are: without `_subdirectory`, copier walks the repository's
# root, .git included, and renders every path there before excluding it (about 0.1 s here).
ONE_FILE_COPIER_YML = """\
project_name:
  type: str
  default: my-app
_subdirectory: template
"""
ONE_FILE_PYPROJECT = """\
[project]
name = "{{ project_name }}"
version = "0.1.0"
requires-python = ">=3.12"
dependencies = []
"""


def one_file_template(folder: Path) -> str:
    """A template of one question and one file, a git repository as ours is."""
    folder.mkdir(parents=True)
    (folder / "copier.yml").write_text(ONE_FILE_COPIER_YML)
    (folder / "template").mkdir()
    (folder / "template" / "pyproject.toml.jinja").write_text(ONE_FILE_PYPROJECT)
    run(["git", "init", "--quiet"], folder)
    run(["git", "add", "."], folder)
    run(["git", "commit", "--quiet", "-m", "one file"], folder)
    return str(folder)


def run_generation(
    source: str, vcs: list[str], scratch: Path, rounds: int
) -> dict[str, list[float]]:
    """Paired rounds of: ours (tasks run: uv lock), the one-file template + a bare `uv lock`,
    both again with uv offline (its cache answers: the template's own cost, without PyPI's
    round trips), and ours with --skip-tasks. Order rotated from round to round."""
    one_file = one_file_template(scratch / "one-file")
    copier = [sys.executable, "-m", "copier", "copy", "--trust", "--defaults", "--quiet"]
    offline = {**os.environ, "UV_OFFLINE": "1"}
    times: dict[str, list[float]] = collections.defaultdict(list)

    def ours(destination: Path, env: dict[str, str] | None = None, suffix: str = "") -> None:
        times["ours" + suffix].append(timed([*copier, *vcs, source, str(destination)], env=env))

    def minimal(destination: Path, env: dict[str, str] | None = None, suffix: str = "") -> None:
        copy = timed([*copier, "--vcs-ref", "HEAD", one_file, str(destination)], env=env)
        lock = timed(["uv", "lock", "--quiet"], destination, env=env)
        times["one-file copy" + suffix].append(copy)
        times["bare uv lock" + suffix].append(lock)
        times["one-file + uv lock" + suffix].append(copy + lock)

    def ours_offline(destination: Path) -> None:
        ours(destination, offline, OFFLINE)

    def minimal_offline(destination: Path) -> None:
        minimal(destination, offline, OFFLINE)

    def ours_skip_tasks(destination: Path) -> None:
        times["ours --skip-tasks"].append(
            timed([*copier, "--skip-tasks", *vcs, source, str(destination)])
        )

    steps: list[Callable[[Path], None]] = [
        ours,
        minimal,
        ours_offline,
        minimal_offline,
        ours_skip_tasks,
    ]
    # One warm-up of each, unmeasured: the first run pays the imports' disk reads.
    for step in steps:
        step(scratch / f"warm-{step.__name__}")
    for key in times:
        times[key].clear()
    for round_ in range(rounds):
        shift = round_ % len(steps)
        for step in steps[shift:] + steps[:shift]:
            step(scratch / f"gen{round_}-{step.__name__}")
    return times


# Attributes the Jinja compilations (Environment.from_string of a string) of one copy to the
# question whose value, help, type... Copier's render_value was rendering (the rest are the
# files' and paths'), and the YAML parsing of answers (parse_answer) to its question: counts
# and seconds, outside any profiler.
COUNTER = textwrap.dedent(
    """
    import collections, json, sys, time
    import jinja2
    from copier import _user_data, run_copy
    tally = {kind: collections.defaultdict(lambda: [0, 0.0])
             for kind in ("compile", "by_attribute", "yaml")}
    asking = []
    def add(kind, key, started):
        tally[kind][key][0] += 1
        tally[kind][key][1] += time.perf_counter() - started
    from_string = jinja2.Environment.from_string
    def counted(self, source, *args, **kwargs):
        started = time.perf_counter()
        try:
            return from_string(self, source, *args, **kwargs)
        finally:
            if isinstance(source, str):
                question, attribute = asking[-1] if asking else ("(files and paths)", "")
                add("compile", question, started)
                add("by_attribute", attribute or question, started)
    jinja2.Environment.from_string = counted
    render_value, parse_answer = _user_data.Question.render_value, _user_data.Question.parse_answer
    def rendering(self, value, extra_answers=None):
        asking.append((self.var_name, sys._getframe(1).f_code.co_name))
        try:
            return render_value(self, value, extra_answers)
        finally:
            asking.pop()
    def parsing(self, answer):
        started = time.perf_counter()
        try:
            return parse_answer(self, answer)
        finally:
            if self.type == "yaml":
                add("yaml", self.var_name, started)
    _user_data.Question.render_value = rendering
    _user_data.Question.parse_answer = parsing
    run_copy(sys.argv[1], sys.argv[2], defaults=True, skip_tasks=True, unsafe=True,
             quiet=True, vcs_ref=sys.argv[3] or None)
    print(json.dumps(tally))
    """
)


# Where one copy's time goes: cumulative times of these functions in the profile.
PHASES = [
    ("importing copier", "copier/__init__.py", "<module>"),
    ("cloning the template (git)", "copier/_vcs.py", "clone"),
    ("reading copier.yml and its includes", "copier/_template.py", "load_template_config"),
    ("the questionnaire (Worker._ask)", "copier/_main.py", "_ask"),
    ("rendering files and paths", "copier/_main.py", "_render_template"),
    ("Jinja compilation, everywhere (Environment.compile)", "jinja2/environment.py", "compile"),
    ("YAML answers parsed (yaml.safe_load)", "yaml/__init__.py", "safe_load"),
]


def run_profile(source: str, vcs: list[str], scratch: Path) -> dict[str, object]:
    profile = scratch / "copy.prof"
    copier = [sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "copier", "copy"]
    run([*copier, "--trust", "--defaults", "--skip-tasks", "--quiet", *vcs, source,
         str(scratch / "profiled")])  # fmt: skip
    entries = pstats.Stats(str(profile)).stats  # type: ignore[attr-defined]

    def found(module: str, name: str) -> list[tuple[int, float]]:
        return [
            (nc, ct)
            for (path, _, function), (_, nc, _, ct, _) in entries.items()
            if function == name and path.replace(os.sep, "/").endswith(module)
        ]

    def calls(module: str, name: str) -> int:
        return sum(nc for nc, _ in found(module, name))

    phases = [
        (label, calls(module, name), max((ct for _, ct in found(module, name)), default=0.0))
        for label, module, name in PHASES
    ]
    counted = run([sys.executable, "-c", COUNTER, source, str(scratch / "counted"),
                   "HEAD" if vcs else ""])  # fmt: skip
    return {
        "total": max(ct for (_, _, _, ct, _) in entries.values()),
        "phases": phases,
        "compile": calls("jinja2/environment.py", "compile"),
        "from_string": calls("jinja2/environment.py", "from_string"),
        "render_value": calls("copier/_user_data.py", "render_value"),
        "tally": json.loads(counted),
    }


def yaml_lists() -> dict[str, int]:
    """The `type: yaml` questions whose default is a YAML list (not a string): Copier's
    render_value compiles each of its strings as a template of its own, on every copy."""

    def strings(value: object) -> int:
        if isinstance(value, str):
            return 1
        if isinstance(value, list):
            return sum(strings(item) for item in value)
        return 0

    return {
        name: strings(spec["default"])
        for name, spec in COPIER_YML.items()
        if isinstance(spec, dict)
        and spec.get("type") == "yaml"
        and isinstance(spec.get("default"), list)
    }
