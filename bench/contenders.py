"""What the benchmark compares: the apps, the contenders built from them, and how each
project is generated and built (from a clone of the template's commit, or the working tree)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from lab import distroless
from lab.engine import Engine
from lab.paths import ROOT
from lab.template import BASE_IMAGES, computed

HERE = Path(__file__).resolve().parent
GUIDE = HERE / "dockerfiles" / "guide.Dockerfile"
FLOOR = HERE / "dockerfiles" / "floor.Dockerfile"
FROM_LINE = re.compile(r"^FROM \S+$", re.M)
# Every contender runs one Python: the one distroless carries (3.13), the guide's example
# moved from its 3.12 to it, so that each base image is measured beside the others.
GUIDE_PYTHON = distroless.PYTHON

# The dependency a "dependency change" adds: small, pure Python, in none of the apps.
SMALL_DEPENDENCY = "six"


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
