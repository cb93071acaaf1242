"""Post-generation tasks of copier-uv-docker, run by copier with its own interpreter.

    tasks.py after-copy --image-tag NAME (--docker-build | --no-docker-build)
        `uv lock`, then `docker build -t NAME .` when asked.
    tasks.py after-update
        `uv lock`, once, in the destination, after copier's merge.
    tasks.py rename-answer --answers-file FILE OLD NEW
        for a template version that renames a question: keep the project's answer.

Exit behaviour: copier deletes a freshly generated project when a task exits non-zero, so a
step that fails for a reason outside the template (uv or docker missing, no network, no
matching Python, a failed build) is reported on stderr with the command to run later, and the
task still exits 0: the project stays on disk. Only a misuse of this script exits non-zero.

Standard library only; every command is an argument list, never a shell string.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

PREFIX = "copier-uv-docker"
CONFLICT_MARKERS = ("<<<<<<< ", ">>>>>>> ")
LOCK = ["uv", "lock"]  # what the user is told to run when locking could not be done here


def warn(what_failed: str, *later: list[str]) -> None:
    """Say on stderr what failed, that the project is kept, and what to run once fixed."""
    project = Path.cwd()
    lines = [f"{PREFIX}: {what_failed}", f"  The project is kept in {project}."]
    if later:
        lines.append("  When that is fixed, run:")
        lines.append(f"    cd {shlex.quote(str(project))}")
        lines.extend(f"    {shlex.join(command)}" for command in later)
    print("\n".join(lines), file=sys.stderr, flush=True)


def uv_command() -> list[str] | None:
    """uv on PATH, or else the uv package in copier's own environment."""
    if found := shutil.which("uv"):
        return [found]
    if importlib.util.find_spec("uv") is not None:
        return [sys.executable, "-m", "uv"]
    return None


def run(command: list[str]) -> int:
    """Run a command in the project with its output shown; return its exit code."""
    print(f"{PREFIX}: running {shlex.join(command)}", flush=True)
    try:
        return subprocess.run(command, check=False).returncode
    except OSError as error:  # found on PATH a moment ago, yet not executable
        print(f"{PREFIX}: {error}", file=sys.stderr)
        return 127


def lock() -> bool:
    """Bring uv.lock in line with pyproject.toml; say what to do if that cannot be done."""
    pyproject = Path("pyproject.toml")
    if any(marker in pyproject.read_text(encoding="utf-8") for marker in CONFLICT_MARKERS):
        warn(
            "pyproject.toml holds merge conflict markers; uv.lock was not updated.\n"
            "  Resolve the conflicts in pyproject.toml first.",
            LOCK,
        )
        return False
    uv = uv_command()
    if uv is None:
        warn(
            "uv was not found (neither on PATH nor as `python -m uv`), so uv.lock was not "
            "written.\n  Install uv: https://docs.astral.sh/uv/getting-started/installation/",
            LOCK,
        )
        return False
    code = run([*uv, "lock"])
    if code != 0:
        warn(
            f"`uv lock` failed (exit code {code}), see its message above: no network, "
            "or no Python interpreter matching requires-python?",
            LOCK,
        )
        return False
    return True


def build_command(tag: str) -> list[str]:
    """The build this hook runs, as the user is told to run it."""
    return ["docker", "build", "-t", tag, "."]


def docker_build(tag: str) -> None:
    """Build the image tagged with the project name; say what to do if that cannot be done."""
    build = build_command(tag)
    docker = shutil.which("docker")
    if docker is None:
        warn("docker was not found on PATH, so the image was not built.", build)
        return
    if run([docker, "version", "--format", "{{.Server.Version}}"]) != 0:
        warn(
            "the Docker engine did not answer (is the daemon running?), "
            "so the image was not built.",
            build,
        )
        return
    code = run([docker, *build[1:]])
    if code != 0:
        warn(f"`docker build` failed (exit code {code}), see its output above.", build)


def rename_answer(answers_file: Path, old: str, new: str) -> None:
    """Rename a top-level `old: value` line of the answers file, unless `new` is there already.

    Run as a versioned "before" migration, so that copier reads the renamed answer."""
    text = answers_file.read_text(encoding="utf-8")
    if not re.search(rf"^{re.escape(new)}:", text, flags=re.M):
        text = re.sub(rf"^{re.escape(old)}:", f"{new}:", text, count=1, flags=re.M)
        answers_file.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tasks.py", description=__doc__.splitlines()[0])
    steps = parser.add_subparsers(dest="step", required=True)
    after_copy = steps.add_parser("after-copy", help="lock, then build the image if asked")
    after_copy.add_argument("--image-tag", required=True)
    after_copy.add_argument("--docker-build", action=argparse.BooleanOptionalAction, required=True)
    steps.add_parser("after-update", help="relock after copier's merge")
    rename = steps.add_parser("rename-answer", help="carry an answer to a renamed question")
    rename.add_argument("--answers-file", type=Path, required=True)
    rename.add_argument("old")
    rename.add_argument("new")
    args = parser.parse_args(argv)

    if args.step == "rename-answer":
        rename_answer(args.answers_file, args.old, args.new)
        return 0

    locked = lock()
    if args.step == "after-copy" and args.docker_build:
        if locked:
            docker_build(args.image_tag)
        else:
            warn(
                "the image was not built: it needs uv.lock.",
                LOCK,
                build_command(args.image_tag),
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
