"""Ours against the guide's example and the floor, side by side, in one interleaved run.

    uv run python bench/images.py [--repeat 5 | --quick] [--app numpy ...] [--working-tree]
                                  [--no-images] [--no-generation]

Run as root (like the image tests): it uses the tests' engine and base images (lab/engine.py,
lab/standins.py) and the image references copier.yml computes (lab/template.py).

The apps, each generated at one Python (distroless's 3.13; the guide's example moved to it):
`script` (the generated script), `numpy` (the script with numpy added), `fastapi` (a service
project: FastAPI and uvicorn), `package` (the package kind: its own wheel). The contenders,
built from the same project folder (its code, lock file and .dockerignore):
- ours: the generated Dockerfile, for each base_image;
- guide: the guide's example Dockerfile (bench/dockerfiles/guide.Dockerfile), its FROM moved
  to the published uv image copier.yml computes (not for the package kind: it runs main.py);
- floor: FROM ours' final image's base + COPY of the code (bench/dockerfiles/floor.Dockerfile),
  for each base_image: no build can do less after a code change.

Each round measures every contender of every app, in an order rotated from round to round:
- cold: `docker build --no-cache`, which BuildKit applies to cache mounts too
  (moby/buildkit#4250): every contender downloads its dependencies again;
- rebuild: after a one-line change to the code that BuildKit has never seen (the median of
  three such changes);
- dependency change: after one small dependency is added to pyproject.toml and locked
  (with a comment BuildKit has never seen, so that no round reuses another's layers);
- start (ours and guide): inside a fresh container, as the image's user, the time from
  starting the image's CMD to its first output line (a timer in the container's Python
  starts it several times; the first start is a fresh container's, the others warm).
Once, in the first round: the image size and its overhead over its base; the Debian packages
the image holds and whether it has a shell; the bytes a code
change pushes (the layers whose digests differ between the images before and after it, from
`docker save`, uncompressed); and `docker stop` of the app made to run until stopped, with
its exit code.

Then generation: `copier copy` of this template (every question at its default, tasks run, so
uv lock) paired with a one-file template plus a bare `uv lock`, in rounds; and a cProfile of one
`copier copy --skip-tasks`, with the Jinja compilations each question costs.

Medians of the rounds; each ratio is the median of its per-round ratios (both sides measured
in the same round). Absolute seconds are this machine's noise; the ratios are the claim.
The template is the committed HEAD (a clone), unless --working-tree.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import os
import platform
import posixpath
import pstats
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from lab import distroless, machine, standins
from lab.engine import Engine, running
from lab.paths import ROOT
from lab.project import long_running
from lab.template import BASE_IMAGES, COPIER_YML, DEBIAN, UV_VERSION, computed

HERE = Path(__file__).resolve().parent
GUIDE = HERE / "dockerfiles" / "guide.Dockerfile"
FLOOR = HERE / "dockerfiles" / "floor.Dockerfile"
FROM_LINE = re.compile(r"^FROM \S+$", re.M)
# Every contender runs one Python: the one distroless carries (3.13), the guide's example
# moved from its 3.12 to it, so that each base image is measured beside the others.
GUIDE_PYTHON = distroless.PYTHON
# The dependency a "dependency change" adds: small, pure Python, in none of the apps.
SMALL_DEPENDENCY = "six"
X = "\N{MULTIPLICATION SIGN}"
START_RUNS = 5
# Code-only rebuilds per round (their median): each is a tenth of a second, near the noise.
REBUILDS = 3
OFFLINE = ", uv offline"  # starts per container: the first (a fresh container's) and warm ones


@dataclass(frozen=True)
class App:
    name: str
    kind: str
    extra: tuple[str, ...] = ()


APPS = [
    App("script", "script"),
    App("numpy", "script", ("numpy",)),
    App("fastapi", "service"),
    App("package", "package"),
]


@dataclass(frozen=True)
class Contender:
    who: str  # ours, guide, floor
    base_image: str  # the project folder's base_image answer; the guide's is uv

    @property
    def label(self) -> str:
        return "guide" if self.who == "guide" else f"{self.who} {self.base_image}"

    @property
    def slug(self) -> str:
        return self.label.replace(" ", "-")


def contenders(app: App) -> list[Contender]:
    ours = [Contender("ours", base) for base in BASE_IMAGES]
    guide = [] if app.kind == "package" else [Contender("guide", "uv")]
    return [*ours, *guide, *(Contender("floor", base) for base in BASE_IMAGES)]


def answers(app: App, base_image: str) -> dict[str, str]:
    return {"project_kind": app.kind, "base_image": base_image, "python_version": GUIDE_PYTHON}


def base_of(app: App, contender: Contender) -> str:
    """The image the contender's final stage starts from, as copier.yml computes it."""
    return str(computed(**answers(app, contender.base_image))["runtime_image"])


def guide_image() -> str:
    return str(computed(base_image="uv", python_version=GUIDE_PYTHON)["uv_python_image"])


def dockerfile(source: Path, image: str) -> str:
    """A bench Dockerfile with its one FROM line naming this image."""
    return FROM_LINE.sub(lambda _: "FROM " + image, source.read_text(), count=1)


def code_file(project: Path) -> Path:
    return next(project.glob("src/*/__init__.py"), project / "main.py")


def run(command: list[str], cwd: Path | None = None, **kwargs: object) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]
    if done.returncode != 0:
        raise SystemExit(f"bench: {' '.join(command)} failed:\n{done.stdout}{done.stderr}")
    return str(done.stdout)


def timed(command: list[str], cwd: Path | None = None, **kwargs: object) -> float:
    start = time.perf_counter()
    run(command, cwd, **kwargs)
    return time.perf_counter() - start


# --- The template, as a clone of a commit -------------------------------------------------


def template_source(working_tree: bool, scratch: Path) -> tuple[str, list[str], str]:
    """Where copier copies from, its extra arguments, and what to call it in the report."""
    dockerfile_commit = run(
        ["git", "log", "-1", "--format=%h", "--", "template/Dockerfile.jinja"], ROOT
    ).strip()
    if working_tree:
        dirty = run(["git", "status", "--porcelain", "--", "template", "copier.yml"], ROOT)
        head = run(["git", "rev-parse", "--short", "HEAD"], ROOT).strip()
        state = "with uncommitted changes" if dirty.strip() else "clean"
        return str(ROOT), [], f"the working tree at {head} ({state})"
    clone = scratch / "template"
    # Through git's transport (file://), not a local copy of .git: the clone's objects are
    # packed, as a user's template fetched from its remote is. A local clone would carry this
    # checkout's loose objects along, which copier's own clone then copies one by one.
    run(["git", "clone", "--quiet", ROOT.as_uri(), str(clone)])
    head = run(["git", "rev-parse", "--short", "HEAD"], clone).strip()
    return (
        str(clone),
        ["--vcs-ref", "HEAD"],
        f"commit {head} (template/Dockerfile.jinja last changed in {dockerfile_commit})",
    )


def generate(source: str, vcs: list[str], destination: Path, **data: str) -> None:
    pairs = [arg for key, value in data.items() for arg in ("--data", f"{key}={value}")]
    copier = [sys.executable, "-m", "copier", "copy", "--trust", "--defaults", "--quiet"]
    run([*copier, *vcs, *pairs, source, str(destination)])


# --- Images --------------------------------------------------------------------------------


@dataclass
class Lab:
    engine: Engine
    scratch: Path
    images: set[str] = field(default_factory=set)
    tags: set[str] = field(default_factory=set)

    def build(self, folder: Path, tag: str, no_cache: bool = False) -> float:
        command = [self.engine.client, "build", "-q", "-t", tag, "."]
        if no_cache:
            command.insert(2, "--no-cache")
        start = time.perf_counter()
        image = run(command, folder, env=self.engine.env).strip()
        elapsed = time.perf_counter() - start
        self.images.add(image)
        self.tags.add(tag)
        return elapsed

    def clean(self) -> None:
        """Remove what this run built: its tags, then its untagged earlier builds (an image
        that some other tag still names stays)."""
        if self.tags:
            self.engine("image", "rm", *sorted(self.tags), check=False)
        for image in sorted(self.images):
            self.engine("image", "rm", image, check=False)


@dataclass
class Project:
    """A generated app for one base_image, and the files of its dependency change."""

    folder: Path
    pyproject_with_dependency: str
    lock_with_dependency: str


def prepare(lab: Lab, source: str, vcs: list[str], app: App, base_image: str) -> Project:
    folder = lab.scratch / "projects" / f"bench-{app.name}-{base_image}"
    generate(source, vcs, folder, **answers(app, base_image))
    if app.extra:
        run(["uv", "add", "--quiet", "--no-sync", *app.extra], folder)
    changed = lab.scratch / "projects" / f"{folder.name}-dependency"
    shutil.copytree(folder, changed, symlinks=True)
    run(["uv", "add", "--quiet", "--no-sync", SMALL_DEPENDENCY], changed)
    return Project(
        folder, (changed / "pyproject.toml").read_text(), (changed / "uv.lock").read_text()
    )


# A timer in the container's own Python: the image's CMD started again and again, each time
# until its first line of output (stdout or stderr), then killed.
TIMER = textwrap.dedent(
    """
    import json, subprocess, sys, time
    command, runs, times = json.loads(sys.argv[1]), int(sys.argv[2]), []
    for _ in range(runs):
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        line = child.stdout.readline()
        times.append(time.perf_counter() - start)
        child.kill()
        child.wait()
        if not line:
            sys.exit("no output from " + repr(command))
    print(json.dumps(times))
    """
)


def start_times(engine: Engine, tag: str) -> list[float]:
    command = engine("image", "inspect", "--format", "{{json .Config.Cmd}}", tag).stdout.strip()
    ran = engine(
        "run", "--rm", "--network", "none", "--entrypoint", "python", tag,
        "-c", TIMER, command, str(START_RUNS),
    )  # fmt: skip
    return list(json.loads(ran.stdout))


# The Debian packages an image holds, from dpkg's database or, in a distroless image, the
# status.d files that stand in for it; and whether a shell is there to exec.
CONTENTS = """
import os, re
status, status_d = "/var/lib/dpkg/status", "/var/lib/dpkg/status.d"
if os.path.exists(status):
    text = open(status).read()
    count = len(re.findall(r"^Status: install ok installed$", text, re.M))
else:
    count = len([n for n in os.listdir(status_d) if not n.endswith(".md5sums")])
print(count, os.path.exists("/bin/sh"))
"""


def contents(engine: Engine, tag: str) -> tuple[int, bool]:
    ran = engine("run", "--rm", "--network", "none", "--entrypoint", "python", tag, "-c", CONTENTS)
    count, shell = ran.stdout.split()
    return int(count), shell == "True"


def pushed_bytes(engine: Engine, before: str, after: str) -> int:
    """The size of the layers of `after` that `before` does not have (by digest), as
    `docker save` writes them (uncompressed)."""
    save = subprocess.Popen(
        [engine.client, "save", before, after], stdout=subprocess.PIPE, env=engine.env
    )
    sizes: dict[str, int] = {}
    links: dict[str, str] = {}
    small: dict[str, bytes] = {}
    assert save.stdout is not None
    with tarfile.open(fileobj=save.stdout, mode="r|") as tar:
        for member in tar:
            if member.issym():
                links[member.name] = posixpath.normpath(
                    posixpath.join(posixpath.dirname(member.name), member.linkname)
                )
            elif member.islnk():
                links[member.name] = member.linkname
            elif member.isfile():
                sizes[member.name] = member.size
                if member.size < 1 << 20:
                    data = tar.extractfile(member)
                    small[member.name] = data.read() if data else b""
    if save.wait() != 0:
        raise SystemExit(f"bench: docker save {before} {after} failed")

    def size(path: str) -> int:
        while path in links:
            path = links[path]
        return sizes[path]

    def layers(tag: str) -> list[tuple[str, str]]:
        entry = next(e for e in manifest if tag in (e.get("RepoTags") or []))
        config = json.loads(small[entry["Config"]])
        return list(zip(config["rootfs"]["diff_ids"], entry["Layers"], strict=True))

    manifest = json.loads(small["manifest.json"])
    kept = {digest for digest, _ in layers(before)}
    return sum(size(path) for digest, path in layers(after) if digest not in kept)


def stop_time(lab: Lab, folder: Path, tag: str, kind: str) -> tuple[float, str]:
    """`docker stop` of the app made to run until stopped: seconds, and the exit code."""
    engine = lab.engine
    if kind != "service":
        long_running(folder)
    lab.build(folder, tag)
    container = engine("run", "-d", "--network", "none", tag).stdout.strip()
    started = "Application startup complete" if kind == "service" else "Hello"
    deadline = time.monotonic() + 60
    while True:
        logs = engine("logs", container)
        if started in logs.stdout + logs.stderr:
            break
        if time.monotonic() > deadline:
            engine("rm", "-f", container)
            raise SystemExit(f"bench: {tag} never printed {started!r}")
        time.sleep(0.05)
    start = time.perf_counter()
    engine("stop", container)
    elapsed = time.perf_counter() - start
    code = engine("inspect", "--format", "{{.State.ExitCode}}", container).stdout.strip()
    engine("rm", container)
    return elapsed, code


@dataclass
class Round:
    """One contender's figures in one round (the once-only ones in the first round)."""

    cold: float = 0.0
    rebuild: float = 0.0
    dependency: float = 0.0
    starts: list[float] = field(default_factory=list)
    size: int = 0
    overhead: int = 0
    pushed: int = 0
    stop: tuple[float, str] | None = None
    packages: int = 0
    shell: bool = False


def measure(lab: Lab, app: App, contender: Contender, project: Project, round_: int) -> Round:
    folder = lab.scratch / f"round{round_}" / app.name / contender.slug
    shutil.copytree(project.folder, folder, symlinks=True)
    if contender.who == "guide":
        (folder / "Dockerfile").write_text(dockerfile(GUIDE, guide_image()))
    elif contender.who == "floor":
        (folder / "Dockerfile").write_text(dockerfile(FLOOR, base_of(app, contender)))
    tag = f"bench-{app.name}-{contender.slug}"
    result = Round()
    result.cold = lab.build(folder, tag + ":before", no_cache=True)
    code = code_file(folder)
    original, rebuilds = code.read_text(), []
    for _ in range(REBUILDS):
        # A change never built before, or BuildKit would serve it from an earlier build's cache.
        code.write_text(original + f"\n# touched {uuid.uuid4().hex}\n")
        rebuilds.append(lab.build(folder, tag + ":after"))
    result.rebuild = median(rebuilds)
    (folder / "pyproject.toml").write_text(
        project.pyproject_with_dependency + f"# changed {uuid.uuid4().hex}\n"
    )
    (folder / "uv.lock").write_text(project.lock_with_dependency)
    result.dependency = lab.build(folder, tag + ":dependency")
    if contender.who != "floor":
        result.starts = start_times(lab.engine, tag + ":after")
    if round_ == 0:
        size = lab.engine.image_size(tag + ":after")
        base = guide_image() if contender.who == "guide" else base_of(app, contender)
        result.size = size
        result.overhead = size - lab.engine.image_size(base)
        result.pushed = pushed_bytes(lab.engine, tag + ":before", tag + ":after")
        result.packages, result.shell = contents(lab.engine, tag + ":after")
        if contender.who != "floor":
            result.stop = stop_time(lab, folder, tag + ":stop", app.kind)
    shutil.rmtree(folder)
    return result


Results = dict[tuple[str, str], list[Round]]


def run_images(lab: Lab, source: str, vcs: list[str], apps: list[App], rounds: int) -> Results:
    projects = {
        (app.name, base): prepare(lab, source, vcs, app, base)
        for app in apps
        for base in BASE_IMAGES
    }
    results: Results = collections.defaultdict(list)
    for round_ in range(rounds):
        began = time.monotonic()
        for app in apps:
            field_ = contenders(app)
            shift = round_ % len(field_)
            for contender in field_[shift:] + field_[:shift]:
                project = projects[app.name, contender.base_image]
                results[app.name, contender.label].append(
                    measure(lab, app, contender, project, round_)
                )
        print(
            f"bench: round {round_ + 1}/{rounds} took {time.monotonic() - began:.0f} s",
            file=sys.stderr,
            flush=True,
        )
    return results


# --- Generation ----------------------------------------------------------------------------

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


def run_generation(source: str, vcs: list[str], scratch: Path, rounds: int) -> dict[str, list]:
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


# --- The report ----------------------------------------------------------------------------


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def figure(runs: list[Round], key: str) -> float:
    return median(float(getattr(r, key)) for r in runs)


def starts(runs: list[Round], first: bool) -> list[float]:
    """Every warm start of every round, or each round's first start (a fresh container's)."""
    if first:
        return [r.starts[0] for r in runs]
    return [t for r in runs for t in r.starts[1:]]


def ratio(top: list[Round], bottom: list[Round], key: str) -> float:
    """The median of the per-round ratios (one round: both measured within it)."""

    def value(r: Round) -> float:
        if key == "start":
            return median(r.starts[1:])
        if key == "fresh start":
            return r.starts[0]
        return float(getattr(r, key))

    return median(value(a) / value(b) for a, b in zip(top, bottom, strict=True))


def kilobytes(value: float) -> str:
    return f"{value / 1e3:,.1f} kB" if value < 1e6 else f"{value / 1e6:,.1f} MB"


def report_images(results: Results, apps: list[App]) -> list[tuple[str, bool, str]]:
    print(
        "| app | contender | cold build | code-only rebuild | dependency-change rebuild | "
        "start (fresh container) | image | over its base | a code change pushes | "
        "docker stop (exit) | Debian packages | shell |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for app in apps:
        for contender in contenders(app):
            runs = results[app.name, contender.label]
            cells = [f"{figure(runs, k):.2f} s" for k in ("cold", "rebuild", "dependency")]
            if contender.who == "floor":
                cells.append("")
            else:
                warm, first = starts(runs, False), starts(runs, True)
                cells.append(f"{median(warm) * 1e3:.0f} ms ({median(first) * 1e3:.0f} ms)")
            once = runs[0]
            cells.append(f"{once.size / 1e6:.1f} MB")
            cells.append(f"{once.overhead / 1e6:+.2f} MB")
            cells.append(kilobytes(once.pushed))
            if once.stop is not None:
                seconds, code = once.stop
                cells.append(f"{seconds:.2f} s ({code})")
            else:
                cells.append("")
            cells += [str(once.packages), "yes" if once.shell else "no"]
            print(f"| {app.name} | {contender.label} | " + " | ".join(cells) + " |")

    print()
    print(
        "| app | contender | rebuild / floor | cold / guide | dependency change / guide | "
        "start / ours uv | start / guide | fresh start / guide | code change pushes / floor's |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    targets: list[tuple[str, bool, str]] = []
    for app in apps:
        guide = results.get((app.name, "guide"))
        uv = results[app.name, "ours uv"]
        for contender in contenders(app):
            if contender.who == "floor":
                continue
            runs = results[app.name, contender.label]
            floor = results[app.name, f"floor {contender.base_image}"]
            rebuild = ratio(runs, floor, "rebuild")
            cells = [f"{rebuild:.2f}"]
            cold = slim_start = None
            if guide is not None and contender.who == "ours":
                cold = ratio(runs, guide, "cold")
                cells += [f"{cold:.2f}", f"{ratio(runs, guide, 'dependency'):.2f}"]
            else:
                cells += ["", ""]
            if contender.label == "ours python-slim":
                slim_start = ratio(runs, uv, "start")
                cells.append(f"{slim_start:.2f}")
            else:
                cells.append("")
            cells.append(f"{ratio(runs, guide, 'start'):.2f}" if guide else "")
            cells.append(f"{ratio(runs, guide, 'fresh start'):.2f}" if guide else "")
            pushed = runs[0].pushed / floor[0].pushed
            cells.append(f"{pushed:.2f}")
            print(f"| {app.name} | {contender.label} | " + " | ".join(cells) + " |")
            if contender.who != "ours":
                continue
            where = f"{app.name}, {contender.base_image}"
            limit = 1.15
            note = " (the package kind may pay its wheel build)" if app.kind == "package" else ""
            targets.append(
                (
                    f"rebuild ≤ {limit}{X} floor{note}",
                    rebuild <= limit,
                    f"{where}: {rebuild:.2f}{X}",
                )
            )
            if cold is not None:
                targets.append((f"cold ≤ 1.3{X} guide", cold <= 1.3, f"{where}: {cold:.2f}{X}"))
            if slim_start is not None:
                targets.append(
                    (
                        f"python-slim start ≤ 1.1{X} uv's",
                        slim_start <= 1.1,
                        f"{app.name}: {slim_start:.2f}{X}",
                    )
                )
    return targets


def report_generation(times: dict[str, list], profile: dict[str, object]) -> tuple[str, bool, str]:
    def paired(top: str, bottom: str) -> float:
        return median(a / b for a, b in zip(times[top], times[bottom], strict=True))

    online = paired("ours", "one-file + uv lock")
    cached = paired("ours" + OFFLINE, "one-file + uv lock" + OFFLINE)
    print("| generation | median |")
    print("|---|---|")
    for key, values in times.items():
        print(f"| {key} | {median(values):.2f} s |")
    print(f"| **ours / (one-file + uv lock)**, paired | **{online:.2f}{X}** |")
    print(f"| **ours / (one-file + uv lock), uv offline**, paired | **{cached:.2f}{X}** |")
    skipped = paired("ours --skip-tasks", "one-file copy")
    print(
        f"| ours --skip-tasks / one-file copy (no lock on either side), paired | {skipped:.2f}{X} |"
    )
    print()
    print(
        f"cProfile of one `copier copy --skip-tasks` of ours ({profile['total']:.2f} s under the "
        f"profiler): {profile['compile']} Jinja compilations (Environment.compile), "
        f"{profile['from_string']} from_string calls, {profile['render_value']} render_value "
        "calls (Copier's questions)."
    )
    print()
    print("| where the time goes (profiled, cumulative) | calls | seconds |")
    print("|---|---|---|")
    for label, calls, seconds in profile["phases"]:  # type: ignore[attr-defined]
        print(f"| {label} | {calls} | {seconds:.2f} s |")
    print()
    tally: dict[str, dict[str, list]] = profile["tally"]  # type: ignore[assignment]
    lists = yaml_lists()

    def rows(kind: str, limit: int) -> None:
        ranked = sorted(tally[kind].items(), key=lambda item: -item[1][1])
        for name, (count, seconds) in ranked[:limit]:
            note = f" (`type: yaml`, a list of {lists[name]} strings)" if name in lists else ""
            print(f"| {name}{note} | {count} | {seconds * 1e3:.0f} ms |")
        count = sum(c for c, _ in tally[kind].values())
        seconds = sum(t for _, t in tally[kind].values())
        print(f"| (all) | {count} | {seconds * 1e3:.0f} ms |")

    print("| Jinja compiled for (unprofiled) | from_string | time |")
    print("|---|---|---|")
    rows("compile", 10)
    print()
    print("| compiled by (Copier's Question method) | from_string | time |")
    print("|---|---|---|")
    rows("by_attribute", 8)
    print()
    print("| `type: yaml` answer parsed (unprofiled) | parses | time |")
    print("|---|---|---|")
    rows("yaml", 6)
    if lists:
        print(
            "\n`type: yaml` questions whose default is a YAML list, each string of it compiled "
            "on every copy: " + ", ".join(f"{n} ({c})" for n, c in sorted(lists.items()))
        )
    else:
        print("\nNo `type: yaml` default is a YAML list: each is one string, compiled once.")
    return (
        f"generation ≤ 1.25{X} one-file + uv lock",
        online <= 1.25 and cached <= 1.25,
        f"{online:.2f}{X} (uv reaching PyPI), {cached:.2f}{X} (uv offline, from its cache)",
    )


def machine_line() -> str:
    return f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}"


def images(
    source: str,
    vcs: list[str],
    described: str,
    apps: list[App],
    rounds: int,
    scratch: Path,
    raw: Path | None = None,
) -> list[tuple[str, bool, str]]:
    """The images' part of the run, on the tests' engine (taken in turns with them)."""
    with running() as engine:
        if isinstance(engine, str):
            raise SystemExit(f"bench: {engine}")
        used = standins.ensure(engine.client, [GUIDE_PYTHON], UV_VERSION, DEBIAN)
        version = engine("version", "--format", "{{.Server.Version}}").stdout.strip()
        print(
            f"Measured {datetime.date.today()} on {machine_line()}, Docker engine {version} "
            f"with BuildKit, uv {UV_VERSION}; template: {described}; Python {GUIDE_PYTHON} "
            f"(the guide's); {rounds} interleaved round(s), medians; base images: "
            + (
                f"local stand-ins ({', '.join(sorted(used))}; lab/standins.py), not the "
                "official ones: sizes are the stand-ins'"
                if used
                else "official"
            )
            + ".\n"
        )
        lab = Lab(engine, scratch)
        try:
            results = run_images(lab, source, vcs, apps, rounds)
        finally:
            lab.clean()
        if raw is not None:
            rows = {
                f"{app} / {who}": [vars(r) for r in runs] for (app, who), runs in results.items()
            }
            raw.write_text(json.dumps({"measured": described, "rounds": rows}, indent=1))
        targets = report_images(results, apps)
        print()
        return targets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="rounds (default 5)")
    parser.add_argument("--quick", action="store_true", help="one round")
    parser.add_argument(
        "--app",
        dest="apps",
        action="append",
        choices=[app.name for app in APPS],
        help="only these apps (repeatable; default all)",
    )
    parser.add_argument(
        "--working-tree",
        action="store_true",
        help="this working tree, uncommitted changes included (default: the committed HEAD)",
    )
    parser.add_argument("--json", type=Path, help="also write every round's figures here")
    parser.add_argument("--no-images", action="store_true", help="generation only")
    parser.add_argument("--no-generation", action="store_true", help="images only")
    args = parser.parse_args()
    rounds = 1 if args.quick else args.repeat
    apps = [app for app in APPS if not args.apps or app.name in args.apps]
    machine.prepare()
    began = time.monotonic()
    targets: list[tuple[str, bool, str]] = []
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch_dir:
        scratch = Path(scratch_dir)
        source, vcs, described = template_source(args.working_tree, scratch)
        if not args.no_images:
            targets += images(source, vcs, described, apps, rounds, scratch, args.json)
        if not args.no_generation:
            if args.no_images:
                print(
                    f"Measured {datetime.date.today()}, {machine_line()}; template: {described}.\n"
                )
            times = run_generation(source, vcs, scratch, max(rounds, 3))
            profile = run_profile(source, vcs, scratch)
            targets.append(report_generation(times, profile))
            print()
    print("| issue 18's target | holds? | measured |")
    print("|---|---|---|")
    grouped: dict[str, list[tuple[bool, str]]] = collections.defaultdict(list)
    for name, holds, value in targets:
        grouped[name].append((holds, value))
    for name, checks in grouped.items():
        verdict = "yes" if all(h for h, _ in checks) else "**no**"
        print(f"| {name} | {verdict} | " + "; ".join(v for _, v in checks) + " |")
    print(f"\nbench: {time.monotonic() - began:.0f} s in all", file=sys.stderr)


if __name__ == "__main__":
    main()
