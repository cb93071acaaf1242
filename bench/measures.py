"""What the benchmark measures of each image: builds, starts, contents, the bytes a code change
pushes, `docker stop`, and the health probe's CPU time; a round of them per contender."""

from __future__ import annotations

import collections
import json
import posixpath
import shutil
import statistics
import subprocess
import sys
import tarfile
import textwrap
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from bench.contenders import (
    FLOOR,
    GUIDE,
    App,
    Contender,
    Lab,
    Project,
    base_of,
    code_file,
    contenders,
    dockerfile,
    guide_image,
    prepare,
)
from lab.engine import Engine
from lab.project import long_running
from lab.template import BASE_IMAGES

START_RUNS = 5
# Code-only rebuilds per round (their median): each is a tenth of a second, near the noise.
REBUILDS = 3


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


def started(engine: Engine, tag: str, kind: str) -> str:
    """A container of the image, once the app has said it runs: its id."""
    container = engine("run", "-d", "--network", "none", tag).stdout.strip()
    said = "Application startup complete" if kind == "service" else "Hello"
    deadline = time.monotonic() + 60
    while True:
        logs = engine("logs", container)
        if said in logs.stdout + logs.stderr:
            return container
        if time.monotonic() > deadline:
            engine("rm", "-f", container)
            raise SystemExit(f"bench: {tag} never printed {said!r}")
        time.sleep(0.05)


def stop_time(lab: Lab, folder: Path, tag: str, kind: str) -> tuple[float, str]:
    """`docker stop` of the app made to run until stopped: seconds, and the exit code."""
    engine = lab.engine
    if kind != "service":
        long_running(folder)
    lab.build(folder, tag)
    container = started(engine, tag, kind)
    start = time.perf_counter()
    engine("stop", container)
    elapsed = time.perf_counter() - start
    code = engine("inspect", "--format", "{{.State.ExitCode}}", container).stdout.strip()
    engine("rm", container)
    return elapsed, code


# The CPU time (user + system, from getrusage) of one health probe as the image's HEALTHCHECK
# runs it, and of one `import main` (what a probe through the app would pay first), each the
# mean of PROBES runs as children of the container's Python, beside the running service.
PROBES = 10
PROBE_CPU = textwrap.dedent(
    """
    import json, resource, subprocess, sys
    def cpu(command):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        for _ in range(int(sys.argv[1])):
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        spent = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        return spent / int(sys.argv[1])
    print(json.dumps([cpu([sys.executable, "healthcheck.py"]),
                      cpu([sys.executable, "-c", "import main"])]))
    """
)


def probe_cpu(engine: Engine, tag: str) -> tuple[float, float]:
    """Seconds of CPU per health probe, and per import of the app, in a running container."""
    container = started(engine, tag, "service")
    try:
        ran = engine("exec", container, "python", "-c", PROBE_CPU, str(PROBES))
    finally:
        engine("rm", "-f", container)
    probe, app = json.loads(ran.stdout)
    return float(probe), float(app)


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
    probe: tuple[float, float] | None = None  # a service's: per probe, per import of the app
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
    result.rebuild = statistics.median(rebuilds)
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
        if contender.who == "ours" and app.kind == "service":
            result.probe = probe_cpu(lab.engine, tag + ":after")
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
