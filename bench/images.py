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
`docker save`, uncompressed); `docker stop` of the app made to run until stopped, with
its exit code; and, for the service, the CPU time of one health probe as its HEALTHCHECK runs
it, beside one `import main`, in a running container.

The parts: contenders.py (the apps, the contenders, making and building them), measures.py
(each image's figures, a round at a time), generation.py (copier copy's), report.py (the
tables and the targets); this file runs them.

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
import sys
import tempfile
import time
from pathlib import Path

from bench.contenders import APPS, GUIDE_PYTHON, App, Lab, template_source
from bench.generation import run_generation, run_profile
from bench.measures import run_images
from bench.report import machine_line, report_generation, report_images
from lab import machine, standins
from lab.engine import reclaim, running
from lab.template import DEBIAN, UV_VERSION


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
        if engine.started:  # our own data root: it keeps only the base images between runs
            reclaim(engine)
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
