"""Fixtures shared by every test (importing helpers prepares the environment first)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from subprocess import PIPE

import pytest
from helpers import (
    BASE_IMAGES,
    DEBIAN,
    DEFAULT_PYTHON,
    IMAGE_VARIANTS,
    PYTHON_CHOICES,
    ROOT,
    UV_VERSION,
    computed,
    image,
    lockable_pythons,
    missing,
    python_for,
    run_ok,
    stand_in_note,
)
from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

from lab import debian, locks, pythons, standins
from lab.engine import RUN, Engine, reclaim, shared, stop_shared
from lab.project import SOURCE, plain_copy
from lab.template import with_python

# Hypothesis: the default run fits CI and draws the same examples every time (derandomized, no
# example database), so that a verdict never depends on the draw; the deeper one
# (HYPOTHESIS_PROFILE=deep) draws anew on every run, to explore. What it finds is kept as an
# explicit @example beside the test.
settings.register_profile(
    "default",
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.differing_executors],
)
settings.register_profile(
    "deep",
    parent=settings.get_profile("default"),
    max_examples=500,
    derandomize=False,
    database=DirectoryBasedExampleDatabase(ROOT / ".hypothesis" / "examples"),
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def pytest_configure(config) -> None:
    """Once, before any worker starts: a real interpreter for every python_version choice,
    pyenv's or Debian's (lab/pythons.py), where this machine can make them; and the run's
    folder, where its workers share one Docker engine (lab/engine.py's shared())."""
    if hasattr(config, "workerinput"):
        config.option.template = os.environ[SOURCE]  # pytest-copie's template
        share_mypy_cache(config.workerinput["workerid"])
        return
    mirror = None if pythons.can_provide() else debian.mirror()
    pythons.ensure_host(PYTHON_CHOICES, mirror)
    os.environ[RUN] = tempfile.mkdtemp(prefix="copier-uv-docker-run-")
    # Renders stand on a plain copy of this working tree, made once for the run's workers.
    os.environ[SOURCE] = str(plain_copy(Path(os.environ[RUN]) / "template"))
    config.option.template = os.environ[SOURCE]
    # A `kill` of the run (a cancelled CI job) ends it as Ctrl-C does: the engine is stopped.
    signal.signal(signal.SIGTERM, interrupted)


def share_mypy_cache(worker: str) -> None:
    """One mypy cache per worker, for every project it checks: what mypy read once (the
    standard library's stubs, FastAPI's) it does not read again (5.7 s cold, 0.9 s warm for a
    service). mypy checks each cached module against its source and options before using it."""
    os.environ.setdefault("MYPY_CACHE_DIR", str(Path(os.environ[RUN]) / f"mypy-{worker}"))


def interrupted(signum, frame) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_unconfigure(config) -> None:
    """The run's engine, started by whichever worker needed it first, stops with the run."""
    if not hasattr(config, "workerinput") and RUN in os.environ:
        stop_shared(Path(os.environ.pop(RUN)))


def pytest_xdist_auto_num_workers(config) -> int:
    """A worker per core, and one more: an engine test waits on the engine (a build, a
    container's start) a third of its time, which the extra worker fills (docs/testing.md).
    The cores are those this process may run on, where the system says (Linux)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return (len(affinity(0)) if affinity else os.cpu_count() or 1) + 1


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items) -> None:
    """A test is an engine test (marker `docker`) when it uses the engine, through any fixture:
    `-m "not docker"` then runs every test that needs none, wherever it is. The engine tests
    run first: they are the longest, and a run that ends on short tests ends on every worker
    at about the same time (with --dist=load, workers take tests in this order)."""
    for item in items:
        if "docker" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.docker)
    items.sort(key=lambda item: item.get_closest_marker("docker") is None)


@pytest.fixture
def generated(copie):
    """Generate a project through pytest-copie and insist that it worked. A base image of one
    Python gets that Python unless the test names one (lab.template.with_python)."""

    def generate(**answers: object) -> Path:
        result = copie.copy(extra_answers=with_python(answers))
        assert result.exit_code == 0, result.exception
        return result.project_dir

    return generate


def base_images(engine: Engine) -> set[str]:
    """Every base image the variants need, pulled or stood in: the names that are stand-ins."""
    os.environ.update(engine.exported())  # stand-ins are made through this engine
    versions = {DEFAULT_PYTHON, *(v for _, v in IMAGE_VARIANTS)} & set(lockable_pythons())
    pull_only = bool(os.environ.get("COPIER_UV_DOCKER_NO_STANDINS"))
    made = standins.ensure(engine.client, sorted(versions), UV_VERSION, DEBIAN, pull_only)
    if engine.started:  # our own data root: it keeps only the base images between runs
        reclaim(engine)
    return made


@pytest.fixture(scope="session")
def docker():
    """The run's Docker engine, one for all the workers, with every base image the variants
    need, pulled or stood in."""
    try:
        engine = shared(Path(os.environ[RUN]), base_images)
    except (OSError, subprocess.CalledProcessError, SystemExit) as error:
        missing(
            f"base images can be neither pulled nor stood in: {error}"
            " (stand-ins need Debian's apt-get install debootstrap)"
        )
    if isinstance(engine, str):
        missing(engine)
    # Every `docker` this worker runs, and its subprocesses, reach that engine.
    os.environ.update(engine.exported())
    return engine


@pytest.fixture(autouse=True)
def _report_docker_setup(request) -> None:
    """Each image test records which engine and base images it used, for the summary."""
    if "docker" in request.fixturenames:
        engine = request.getfixturevalue("docker")
        where = "started by the tests" if engine.started else "already running"
        server = engine("version", "--format", "{{.Server.Version}}", check=False).stdout.strip()
        where = f"Docker {server}, {where}"
        bases = (
            f"local stand-ins for {', '.join(sorted(engine.standins))}"
            if engine.standins
            else "official images"
        )
        request.node.user_properties.append(
            ("docker", f"Docker engine: {engine.client}, {where}. Base images: {bases}.")
        )


@pytest.fixture
def build(docker):
    """The one image build of the tests: `docker build` of a project (a stage of it, if given)
    with BuildKit's plain log, which it returns; a failure says whether the base images were
    stand-ins. The images are removed afterwards."""
    tags: list[str] = []

    def build_image(project: Path, tag: str, target: str | None = None) -> str:
        stage = ["--target", target] if target else []
        done = docker("build", "--progress=plain", *stage, "-t", tag, str(project), check=False)
        assert done.returncode == 0, f"{stand_in_note(docker, project)}\n{done.stderr}"
        tags.append(tag)
        return done.stderr

    yield build_image
    if tags:
        docker("image", "rm", "--force", *tags, check=False)


@pytest.fixture
def built(generated, build):
    """Generate a project and build its image (a stage of it, if given), under a name never
    built before. Returns (project, tag)."""

    def generate_and_build(
        base_image: str,
        kind: str = "script",
        prepare: Callable[[Path], None] | None = None,
        target: str | None = None,
        **answers: object,
    ) -> tuple[Path, str]:
        tag = f"{kind}-{uuid.uuid4().hex[:10]}"
        project = generated(project_name=tag, project_kind=kind, base_image=base_image, **answers)
        if prepare:
            prepare(project)
        build(project, tag, target)
        return project, tag

    return generate_and_build


@pytest.fixture
def docker_first_on_path(tmp_path: Path, docker) -> dict[str, str]:
    """An environment whose `docker` is the engine's BuildKit client, as the hook will see it."""
    folder = tmp_path / "docker-bin"
    folder.mkdir()
    (folder / "docker").symlink_to(docker.client)
    return {**docker.env, "PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"}


@pytest.fixture(scope="session")
def podman(docker) -> list[str]:
    """Podman from Debian, with this session's base images moved over from the Docker engine
    (`docker save | podman load`), under the names a pull would have given them."""
    found = shutil.which("podman")
    if found is None:
        missing("podman is not installed (Debian: apt-get install podman)")
    names = {image("uv_image")}
    for base_image in BASE_IMAGES:
        values = computed(base_image=base_image, python_version=python_for(base_image))
        names |= {values["runtime_image"]}
        names |= {values["base_images"][base_image]["dev"]} - {"builder"}
    # One worker at a time moves them; an image Podman holds under the same ID stays.
    with locks.artefact("podman-images"):  # the move; the store has its own lock
        for name in sorted(names):
            if image_id([docker.client], name, docker.env) == image_id([found], name):
                continue
            with locks.podman_images():
                saved = subprocess.Popen([docker.client, "save", name], env=docker.env, stdout=PIPE)
                loaded = subprocess.run(
                    [found, "load", "-q"], stdin=saved.stdout, capture_output=True
                )
            assert saved.wait() == 0 and loaded.returncode == 0, loaded.stderr
            if "/" not in name.split(":")[0]:  # Docker Hub's short names: podman says localhost/
                run_ok([found, "tag", f"localhost/{name}", f"docker.io/library/{name}"], Path.cwd())
    return [found]


# Podman needs these ulimits on this machine kind: from a containers.conf of the tests' own
# (CONTAINERS_CONF), never from the project.
CONTAINERS_CONF = '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1000:1000"]\n'


@pytest.fixture(scope="session")
def podman_env(podman, tmp_path_factory) -> dict[str, str]:
    """An environment whose Podman runs containers on this machine (the ulimits above)."""
    conf = tmp_path_factory.mktemp("podman") / "containers.conf"
    conf.write_text(CONTAINERS_CONF)
    return {**os.environ, "CONTAINERS_CONF": str(conf)}


def image_id(client: list[str], name: str, env: dict[str, str] | None = None) -> str | None:
    """An image's ID (its config's digest) as a client sees it, or None if it has none."""
    found = subprocess.run(
        [*client, "image", "inspect", "--format", "{{.Id}}", name],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    return found.stdout.strip().removeprefix("sha256:") or None if found.returncode == 0 else None


# Warnings raised from this repository's files fail the run (pytest-xdist's workers send theirs
# here). Ours: Python files of this repository, and Jinja's lexer and compiler, which in this run
# read only this repository's template text (copier.yml and template/). Others' warnings are only
# reported, as pytest does.
OUR_WARNINGS: list[str] = []
NOT_OURS = (ROOT / ".venv", ROOT / "tests" / "renovate" / "node_modules")


def is_ours(filename: str) -> bool:
    path = Path(filename)
    jinja = path.parent.name == "jinja2" and path.stem in {"lexer", "compiler"}
    if jinja or filename == "<template>":
        return True
    path = path.resolve()
    return path.is_relative_to(ROOT) and not any(path.is_relative_to(p) for p in NOT_OURS)


def pytest_warning_recorded(warning_message, when, nodeid, location) -> None:
    if is_ours(warning_message.filename):
        where = f"{warning_message.filename}:{warning_message.lineno}"
        OUR_WARNINGS.append(
            f"{nodeid or when}: {warning_message.category.__name__}: {warning_message.message}"
            f" ({where})"
        )


def pytest_sessionfinish(session) -> None:
    if OUR_WARNINGS and not hasattr(session.config, "workerinput"):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter) -> None:
    """Say once which engine and base images the image tests used (also under pytest-xdist,
    whose workers send their reports, user properties included, to this process); list the
    warnings raised from this repository's files, which fail the run."""
    lines = {
        value
        for reports in terminalreporter.stats.values()
        for report in reports
        for key, value in getattr(report, "user_properties", ())
        if key == "docker"
    }
    for line in sorted(lines):
        terminalreporter.write_line(line)
    if OUR_WARNINGS:
        terminalreporter.section("warnings from this repository's files fail the run", red=True)
        for line in sorted(set(OUR_WARNINGS)):
            terminalreporter.write_line(line)
