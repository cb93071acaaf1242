"""One command line for what the laboratory does on its own (as root where it says so).

python -m lab standins --python 3.12 --python 3.14 --uv-version 0.13.9 [--docker DOCKER]
python -m lab pythons 3.14 3.15
python -m lab debian docker-buildx docker-cli docker.io containerd
python -m lab images python_version=3.13 base_image=uv
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lab import debian, pythons, standins, template


def first_line(text: str | None) -> str:
    return str(text).split("\n\n")[0]


def run_standins(args: argparse.Namespace) -> None:
    for name in sorted(standins.ensure(args.docker, args.python, args.uv_version, args.debian)):
        print(f"{name} (stand-in)")


def run_pythons(args: argparse.Namespace) -> None:
    if reason := pythons.can_provide():
        raise SystemExit(f"pythons: {reason}")
    for version in pythons.ensure_host(args.versions, debian.mirror()):
        print(pythons.bin_dir() / f"python{version}")


def run_debian(args: argparse.Namespace) -> None:
    print(debian.unpack(*args.packages))


def run_images(args: argparse.Namespace) -> None:
    answers = dict(answer.split("=", 1) for answer in args.answers)
    for name, value in template.computed(**answers).items():
        hidden = template.COPIER_YML[name].get("when") is False
        if hidden and name.endswith("_image"):
            print(f"{name}: {value}")


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python -m lab", description=first_line(__doc__))
    commands = main.add_subparsers(required=True, metavar="COMMAND")

    command = commands.add_parser(
        "standins", help=first_line(standins.__doc__), description=first_line(standins.__doc__)
    )
    command.add_argument("--python", action="append", required=True, help="e.g. 3.12; repeat")
    command.add_argument("--uv-version", required=True, help="as pinned in copier.yml")
    command.add_argument("--debian", default="trixie")
    command.add_argument(
        "--docker",
        default="/usr/bin/docker" if Path("/usr/bin/docker").exists() else "docker",
        help="docker client with BuildKit",
    )
    command.set_defaults(run=run_standins)

    command = commands.add_parser(
        "pythons", help=first_line(pythons.__doc__), description=first_line(pythons.__doc__)
    )
    command.add_argument("versions", nargs="+", help="e.g. 3.14 3.15")
    command.set_defaults(run=run_pythons)

    command = commands.add_parser(
        "debian", help=first_line(debian.__doc__), description=first_line(debian.__doc__)
    )
    command.add_argument("packages", nargs="+", help="Debian sid package names")
    command.set_defaults(run=run_debian)

    command = commands.add_parser(
        "images",
        help="the image references copier.yml computes for these answers",
        description="The image references copier.yml computes for these answers (lab/template.py).",
    )
    command.add_argument("answers", nargs="*", metavar="QUESTION=ANSWER")
    command.set_defaults(run=run_images)
    return main


def main() -> None:
    args = parser().parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
