"""Measure the generated images: generation, cold build, code-only rebuild, size.

    uv run python bench/images.py [--repeat 3] [--with numpy ...] [--kinds]

For each accepted (base_image, python_version) the machine can lock for (with --kinds: each
(project_kind, base_image), at the default Python), the median of --repeat runs:
- generation: `copier copy` with its tasks (uv lock), from this working tree, then
  `uv add` of the --with packages, if any;
- cold build: `docker build --no-cache` (uv's cache mount stays warm, as on a developer machine);
- rebuild: after a one-line change to main.py, with the layer cache;
- size: the final image, and its overhead over the image its final stage starts from;
- stop: `docker stop` of the running app (a script's or package's main() made to loop; a
  service as it is, once uvicorn has started), from the command to the container's exit; its
  exit code must be 0 (137 would mean killed after 10 s).
Uses the engine and base images the tests use (lab/engine.py, lab/standins.py), and the image
references copier.yml computes (lab/template.py); prints a Markdown report saying whether the
base images were stand-ins.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from lab import machine, standins
from lab.engine import Engine, running
from lab.project import copy_args, long_running
from lab.pythons import lockable_pythons
from lab.template import DEBIAN, DEFAULT_PYTHON, KINDS, UV_VERSION, VARIANTS, image


def timed(command: list[str], env: dict[str, str], cwd: Path | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def measure(
    engine: Engine,
    base_image: str,
    python: str,
    scratch: Path,
    extra: list[str],
    kind: str = "script",
) -> dict:
    docker, env = engine.client, engine.env
    project = scratch / f"bench-{base_image}-{python.replace('.', '')}"
    answers = {"base_image": base_image, "python_version": python, "project_kind": kind}
    copy = [sys.executable, "-m", "copier", *copy_args(project, **answers), "--quiet"]
    generation = timed(copy, env)
    if extra:
        generation += timed(["uv", "add", "--quiet", *extra], env, project)
    tag = project.name
    build = [docker, "build", "-q", "-t", tag, "."]
    cold = timed([*build[:2], "--no-cache", *build[2:]], env, project)
    main = next(project.glob("src/*/__init__.py"), project / "main.py")
    # A change never built before, or BuildKit would serve it from an earlier run's cache.
    main.write_text(main.read_text() + f"\n# touched {uuid.uuid4().hex}\n")
    rebuild = timed(build, env, project)

    final, base = engine.image_size(tag), engine.image_size(image("runtime_image", **answers))

    if kind != "service":
        long_running(project)
    subprocess.run(build, env=env, cwd=project, check=True, capture_output=True)
    container = engine("run", "-d", "--network", "none", tag).stdout.strip()
    started = "Application startup complete" if kind == "service" else "Hello"
    while started not in engine("logs", container).stdout + engine("logs", container).stderr:
        time.sleep(0.1)
    stop = timed([docker, "stop", container], env)
    code = engine("inspect", "--format", "{{.State.ExitCode}}", container).stdout.strip()
    engine("rm", container)
    if code != "0":
        raise SystemExit(f"bench: {tag} exited {code} on docker stop")
    engine("image", "rm", tag)
    return {
        "generation": generation,
        "cold": cold,
        "rebuild": rebuild,
        "size": final,
        "overhead": final - base,
        "stop": stop,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--with",
        dest="extra",
        action="append",
        default=[],
        metavar="PACKAGE",
        help="runtime dependency to add to each project (repeatable)",
    )
    parser.add_argument(
        "--kinds", action="store_true", help="each project_kind at the default Python"
    )
    args = parser.parse_args()
    machine.prepare()
    with running() as engine:
        if isinstance(engine, str):
            raise SystemExit(f"bench: {engine}")
        pythons = lockable_pythons()
        used = standins.ensure(engine.client, pythons, UV_VERSION, DEBIAN)
        version = engine("version", "--format", "{{.Server.Version}}").stdout.strip()
        print(
            f"Measured {datetime.date.today()} on {platform.machine()}, {os.cpu_count()} CPUs, "
            f"{platform.platform()}, Docker engine {version} with BuildKit, "
            f"uv {UV_VERSION}; median of {args.repeat} runs; runtime dependencies: "
            f"{', '.join(args.extra) or 'none'}."
        )
        print(
            "Base images: "
            + (
                "local stand-ins (lab/standins.py), not the official ones: sizes are the stand-ins'"
                if used
                else "official"
            )
            + ".\n"
        )
        print(
            "| kind | base_image | Python | generation | cold build | code-only rebuild | "
            "rebuild / cold | image size | over its base | docker stop |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|")
        kinds = KINDS if args.kinds else ["script"]
        cells = [
            (kind, base_image, python)
            for kind in kinds
            for base_image, python in VARIANTS
            if python in pythons and (not args.kinds or python == DEFAULT_PYTHON)
        ]
        for kind, base_image, python in cells:
            runs = []
            for _ in range(args.repeat):
                with tempfile.TemporaryDirectory() as scratch:
                    where = Path(scratch)
                    runs.append(measure(engine, base_image, python, where, args.extra, kind))
            m = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
            print(
                f"| {kind} | {base_image} | {python} | {m['generation']:.2f} s | "
                f"{m['cold']:.2f} s | "
                f"{m['rebuild']:.2f} s | {m['rebuild'] / m['cold']:.2f} | "
                f"{m['size'] / 1e6:.1f} MB | {m['overhead'] / 1e6:+.2f} MB | "
                f"{m['stop']:.2f} s |",
                flush=True,
            )


if __name__ == "__main__":
    main()
