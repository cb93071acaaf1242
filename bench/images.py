"""Measure the generated images: generation, cold build, code-only rebuild, size.

    uv run python bench/images.py [--repeat 3] [--with numpy ...]

For each base_image and each Python the machine can lock for, the median of --repeat runs:
- generation: `copier copy` with its tasks (uv lock), from this working tree, then
  `uv add` of the --with packages, if any;
- cold build: `docker build --no-cache` (uv's cache mount stays warm, as on a developer machine);
- rebuild: after a one-line change to main.py, with the layer cache;
- size: the final image, and its overhead over the image its final stage starts from;
- stop: `docker stop` of the app made long-running (main() loops), from the command to the
  container's exit; its exit code must be 0 (137 would mean killed after 10 s).
Uses the engine and base images the tests use (tests/docker_engine.py, tests/standins.py) and
prints a Markdown report saying whether the base images were stand-ins.
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import docker_engine
import standins
from helpers import (
    DEBIAN,
    ROOT,
    UV_VERSION,
    VARIANTS,
    lockable_pythons,
    long_running,
    slim_image,
    uv_python_image,
)


def timed(command: list[str], env: dict[str, str], cwd: Path | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def final_base(base_image: str, python: str) -> str:
    return uv_python_image(python) if base_image == "uv" else slim_image(python)


def measure(
    engine: docker_engine.Engine, base_image: str, python: str, scratch: Path, extra: list[str]
) -> dict:
    docker, env = engine.client, engine.env
    project = scratch / f"bench-{base_image}-{python.replace('.', '')}"
    copy = [
        sys.executable,
        "-m",
        "copier",
        "copy",
        "--trust",
        "--defaults",
        "--quiet",
        "--data",
        f"base_image={base_image}",
        "--data",
        f"python_version={python}",
        str(ROOT),
        str(project),
    ]
    generation = timed(copy, env)
    if extra:
        generation += timed(["uv", "add", "--quiet", *extra], env, project)
    tag = project.name
    build = [docker, "build", "-q", "-t", tag, "."]
    cold = timed([*build[:2], "--no-cache", *build[2:]], env, project)
    main = project / "main.py"
    # A change never built before, or BuildKit would serve it from an earlier run's cache.
    main.write_text(main.read_text() + f"\n# touched {uuid.uuid4().hex}\n")
    rebuild = timed(build, env, project)

    final, base = engine.image_size(tag), engine.image_size(final_base(base_image, python))

    long_running(project)
    subprocess.run(build, env=env, cwd=project, check=True, capture_output=True)
    container = engine("run", "-d", "--network", "none", tag).stdout.strip()
    while "Hello" not in engine("logs", container).stdout:
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
    args = parser.parse_args()
    with docker_engine.running() as engine:
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
                "local stand-ins (tests/standins.py), not the official ones: "
                "sizes are the stand-ins'"
                if used
                else "official"
            )
            + ".\n"
        )
        print(
            "| base_image | Python | generation | cold build | code-only rebuild | "
            "rebuild / cold | image size | over its base | docker stop |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for base_image, python in VARIANTS:
            if python in pythons:
                runs = []
                for _ in range(args.repeat):
                    with tempfile.TemporaryDirectory() as scratch:
                        runs.append(measure(engine, base_image, python, Path(scratch), args.extra))
                m = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
                print(
                    f"| {base_image} | {python} | {m['generation']:.2f} s | {m['cold']:.2f} s | "
                    f"{m['rebuild']:.2f} s | {m['rebuild'] / m['cold']:.2f} | "
                    f"{m['size'] / 1e6:.1f} MB | {m['overhead'] / 1e6:+.2f} MB | "
                    f"{m['stop']:.2f} s |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
