"""Post-generation tasks of copier-uv-docker, run by copier with its own interpreter.

    tasks.py after-copy --image-tag NAME --run COMMAND (--docker-build | --no-docker-build)
        `uv lock`, then `docker build -t NAME .` when asked; then the next steps.
    tasks.py before-update
        put aside the files that an answer switch may delete (CI, bots, pre-commit).
    tasks.py after-update
        list what the merge left in conflict; `uv lock` once, unless pyproject.toml is in
        conflict; say which locked packages the update dropped and which files it deleted.
    tasks.py check-kind --answers-file FILE KIND
        after an update's merge: refuse a switch of project kind (the committed answers file
        says the old one), putting the work tree back to its commit; exit 1.
    tasks.py rename-answer --answers-file FILE OLD NEW
        for a template version that renames a question: keep the project's answer.

Exit behaviour: copier deletes a freshly generated project when a task exits non-zero, so a
step that fails for a reason outside the template (uv or docker missing, no network, no
matching Python, a failed build, an interrupt) is reported on stderr with the commands still to
run, and the task still exits 0: the project stays on disk. Only a misuse of this script, or a
refused switch of project kind (the work tree put back first), exits non-zero. Every
command runs with a time bound, so nothing here can hang for ever.

Standard library only; every command is an argument list, never a shell string.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

PREFIX = "copier-uv-docker"
LOCK = ["uv", "lock"]  # what the user is told to run when locking could not be done here
# Upper bounds, in seconds: generous for real work, finite for a stalled network or engine.
LOCK_TIMEOUT = 600
PROBE_TIMEOUT = 15
BUILD_TIMEOUT = 3600
# Where before-update puts aside the files an answer switch may delete (inside .git: the
# work tree stays clean for copier), and the files it watches.
STASH = Path(".git") / "copier-uv-docker-kept"
ANSWER_FILES = (".github", ".gitlab-ci.yml", "renovate.json", ".pre-commit-config.yaml")
# Folders never searched for conflicts: not the owner's text, or not tracked.
UNSEARCHED = {".git", ".venv", "node_modules", "__pycache__", ".ruff_cache", ".pytest_cache"}
CONFLICT = re.compile(rb"^(<{7} |>{7} )", re.M)


class Interrupted(Exception):
    """Ctrl-C during a step: the steps not done are reported, the project is kept."""


def interrupted(signum: int, frame: object) -> None:
    """SIGINT as an exception of our own: subprocess kills the running command at once
    (for KeyboardInterrupt it would first wait, and copier kills this task 0.25 s after
    Ctrl-C), so the kept-project message is out before copier stops."""
    raise Interrupted


def say(*lines: str) -> None:
    print(
        "\n".join(f"{PREFIX}: {line}" if i == 0 else line for i, line in enumerate(lines)),
        file=sys.stderr,
        flush=True,
    )


def warn(what_failed: str, *later: list[str]) -> None:
    """Say on stderr what failed, that the project is kept, and what to run once fixed."""
    project = Path.cwd()
    lines = [what_failed, f"  The project is kept in {project}."]
    if later:
        lines.append("  When that is fixed, run:")
        lines.append(f"    cd {shlex.quote(str(project))}")
        lines.extend(f"    {shlex.join(command)}" for command in later)
    say(*lines)


def run(command: list[str], timeout: float, capture: bool = False) -> tuple[int, str]:
    """Run a command with a time bound; return its exit code and, if captured, its stderr
    (echoed as well). A timeout or a missing executable is an exit code, never a hang."""
    print(f"{PREFIX}: running {shlex.join(command)}", file=sys.stderr, flush=True)
    try:
        done = subprocess.run(
            command,
            check=False,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            stderr=subprocess.PIPE if capture else None,
            text=True,
        )
    except subprocess.TimeoutExpired:
        say(f"`{shlex.join(command)}` did not finish within {timeout:.0f} s and was stopped.")
        return 124, ""
    except OSError as error:  # found on PATH a moment ago, yet not executable
        say(str(error))
        return 127, ""
    if capture and done.stderr:
        print(done.stderr, end="", file=sys.stderr, flush=True)
    return done.returncode, done.stderr or ""


def reason_of(stderr: str) -> str:
    """uv's own reason on one line: its `error:` line, the first and last `cause:` lines
    (what failed, and why at the root) and its first hint."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    if not errors:
        return lines[-1] if lines else "no message"
    causes = [line for line in lines if line.startswith("cause:")]
    hints = [line for line in lines if line.startswith("hint:")]
    parts = [errors[0], *causes[:1], *causes[1:][-1:], *hints[:1]]
    return " / ".join(parts)


def uv_command() -> list[str] | None:
    """uv on PATH, or else the uv package in copier's own environment."""
    if found := shutil.which("uv"):
        return [found]
    if importlib.util.find_spec("uv") is not None:
        return [sys.executable, "-m", "uv"]
    return None


def conflicted_files() -> list[str]:
    """Files left with conflict markers or as `.rej` by copier's merge, relative to here."""
    found = []
    for folder, subfolders, files in os.walk("."):
        subfolders[:] = sorted(d for d in subfolders if d not in UNSEARCHED)
        for name in sorted(files):
            path = Path(folder, name)
            if name.endswith(".rej"):
                found.append(path.as_posix().removeprefix("./"))
                continue
            try:
                with path.open("rb") as file:
                    head = file.read(1_000_000)
            except OSError:
                continue
            if b"\0" not in head and CONFLICT.search(head):
                found.append(path.as_posix().removeprefix("./"))
    return found


def workspace_root(uv: list[str]) -> Path | None:
    """The enclosing uv workspace this project would be locked into, if any."""
    code, found = quiet([*uv, "workspace", "dir"])
    root = Path(found) if code == 0 and found else None
    return root if root and root.resolve() != Path.cwd().resolve() else None


def locked_packages() -> set[str]:
    """The package names uv.lock holds (empty if there is no lock)."""
    lock = Path("uv.lock")
    text = lock.read_text(encoding="utf-8") if lock.exists() else ""
    return set(re.findall(r'^\[\[package\]\]\nname = "([^"]+)"', text, re.M))


def lock() -> bool:
    """Bring uv.lock in line with pyproject.toml; say what to do if that cannot be done."""
    uv = uv_command()
    if uv is None:
        warn(
            "uv was not found (neither on PATH nor as `python -m uv`), so uv.lock was not "
            "written.\n  Install uv: https://docs.astral.sh/uv/getting-started/installation/",
            LOCK,
        )
        return False
    if root := workspace_root(uv):
        warn(
            f"this project is a member of the uv workspace at {root}: `uv lock` here would "
            f"lock it into {root / 'uv.lock'}, so it was not run, and nothing of {root} was "
            "changed.\n  The image is built from this project's own uv.lock: add this folder "
            f"to `exclude` under [tool.uv.workspace] in {root / 'pyproject.toml'}.",
            LOCK,
        )
        return False
    code, stderr = run([*uv, "lock"], LOCK_TIMEOUT, capture=True)
    if code != 0:
        warn(f"`uv lock` failed (exit code {code}): {reason_of(stderr)}", LOCK)
        return False
    return True


def build_command(tag: str) -> list[str]:
    """The build this hook runs, as the user is told to run it."""
    return ["docker", "build", "-t", tag, "."]


def buildkit_missing(docker: str) -> str | None:
    """Why `docker build` would use the legacy builder, which cannot do `RUN --mount`."""
    if os.environ.get("DOCKER_BUILDKIT") == "0":
        return "DOCKER_BUILDKIT=0 selects Docker's legacy builder"
    code, _ = quiet([docker, "buildx", "version"])
    if code == 0:
        return None
    code, version = quiet([docker, "version", "--format", "{{.Client.Version}}"])
    major = re.match(r"(\d+)\.", version)
    if code == 0 and major and int(major.group(1)) < 23:
        os.environ.setdefault("DOCKER_BUILDKIT", "1")  # 18.09-22: BuildKit is built in
        return None if os.environ["DOCKER_BUILDKIT"] == "1" else "BuildKit is off"
    if "podman" in quiet([docker, "--version"])[1].lower():
        return None  # Podman builds with Buildah, which does `RUN --mount`
    return "the buildx plugin, which gives `docker build` BuildKit, is not installed"


def quiet(command: list[str]) -> tuple[int, str]:
    """A short probe: its exit code and stdout, bounded, never shown."""
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return 1, ""
    return done.returncode, done.stdout.strip()


def docker_build(tag: str) -> bool:
    """Build the image tagged with the project name; say what to do if that cannot be done."""
    build = build_command(tag)
    docker = shutil.which("docker")
    if docker is None:
        warn("docker was not found on PATH, so the image was not built.", build)
        return False
    code, _ = run([docker, "version", "--format", "{{.Server.Version}}"], PROBE_TIMEOUT)
    if code != 0:
        warn(
            "the Docker engine did not answer (is the daemon running?), "
            "so the image was not built.",
            build,
        )
        return False
    if reason := buildkit_missing(docker):
        warn(
            f"the image needs BuildKit (the Dockerfile uses `RUN --mount`), and {reason}, "
            "so it was not built.\n  Install Docker's buildx plugin (Debian and Ubuntu: "
            "`apt-get install docker-buildx`; Docker Desktop has it), or with Docker 20.10 "
            "to 22 set DOCKER_BUILDKIT=1.",
            build,
        )
        return False
    code, _ = run([docker, *build[1:]], BUILD_TIMEOUT)
    if code != 0:
        warn(f"`docker build` failed (exit code {code}), see its output above.", build)
    return code == 0


def next_steps(tag: str, run_app: str, built: bool) -> None:
    """What to do now, for this project as it is (absolute path, git or not)."""
    project = Path.cwd()
    steps = [f"cd {shlex.quote(str(project))}"]
    if not Path(".git").exists():  # a first copy, not a recopy into a repository
        steps.append('git init && git add -A && git commit -m "Start from copier-uv-docker"')
    steps += [f"uv run {run_app}".ljust(26) + " # run it", "uv run pytest              # test it"]
    if not built:
        steps.append(shlex.join(build_command(tag)))
    steps += [f"docker run --rm {tag}", "docker compose watch       # follow your edits"]
    print(
        f"\nYour project {tag} is ready in {project}.\n\nNext steps:\n"
        + "".join(f"  {step}\n" for step in steps)
        + "\nKeep it current with the template: commit, then `uvx copier update --trust`.",
        file=sys.stderr,
        flush=True,
    )


def after_copy(tag: str, run_app: str, build: bool) -> None:
    """Lock, build if asked, then the next steps; whatever fails, the project stays."""
    todo = [LOCK, *([build_command(tag)] if build else [])]
    built = False
    try:
        if lock():
            todo.pop(0)
            built = build and docker_build(tag)
        elif build:
            warn("the image was not built: it needs uv.lock.", *todo)
    except Interrupted:
        warn("interrupted: the steps after this point were not run.", *todo)
        return
    next_steps(tag, run_app, built)


def answer_files() -> Iterator[Path]:
    for name in ANSWER_FILES:
        path = Path(name)
        yield from sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else []
        if path.is_file():
            yield path


def before_update() -> None:
    """Put aside a copy of every file an answer switch may delete, for after_update."""
    if not Path(".git").is_dir():
        return
    shutil.rmtree(STASH, ignore_errors=True)
    for path in answer_files():
        (STASH / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, STASH / path)


def restore_deleted() -> list[str]:
    """Files the update deleted that the owner had: back in the work tree under `.kept`."""
    kept = []
    if STASH.is_dir():
        for copy in sorted(p for p in STASH.rglob("*") if p.is_file()):
            original = copy.relative_to(STASH)
            if not original.exists():
                aside = original.with_name(original.name + ".kept")
                aside.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(copy, aside)
                kept.append(f"{original} (your copy: {aside})")
        shutil.rmtree(STASH, ignore_errors=True)
    return kept


def after_update() -> None:
    """After copier's merge: report conflicts and deletions; relock unless unsafe."""
    kept = restore_deleted()
    if kept:
        say(
            "the update removed files your answers no longer ask for; your last versions are "
            "kept beside them, for you to delete or reuse:",
            *(f"  {line}" for line in kept),
        )
    conflicts = conflicted_files()
    if conflicts:
        say(
            "the update left conflicts in:",
            *(f"  {name}" for name in conflicts),
            "  Resolve each `<<<<<<<` block (keep what you want, delete the markers), apply what "
            "each .rej file holds by hand and delete it; then run `uv lock` and commit.",
        )
    pyproject = Path("pyproject.toml")
    if not pyproject.exists():
        warn("pyproject.toml is gone from the project, so uv.lock was not updated.")
        return
    if "pyproject.toml" in conflicts or Path("pyproject.toml.rej").exists():
        warn(
            "pyproject.toml is in conflict (markers or pyproject.toml.rej): uv.lock was not "
            "updated, so none of your locked packages is dropped.\n  Resolve pyproject.toml "
            "first.",
            LOCK,
        )
        return
    before = locked_packages()
    try:
        if not lock():
            return
    except Interrupted:
        warn("interrupted: uv.lock was not updated.", LOCK)
        return
    if dropped := sorted(before - locked_packages()):
        say(
            "uv.lock no longer holds " + ", ".join(dropped) + ": the update removed them from "
            "pyproject.toml. If you still need one, `uv add` it (`uv add --dev` for a tool)."
        )


def check_kind(answers_file: Path, kind: str) -> int:
    """After the merge: 0 if the project kind is the one committed, else put the work tree back
    to its commit (copier updates only a clean one, so nothing of the owner's is lost), say
    why, and return 1."""
    _, committed = quiet(["git", "show", f"HEAD:{answers_file.as_posix()}"])
    found = re.search(r"^project_kind: *['\"]?(\w+)", committed, flags=re.M)
    recorded = found.group(1) if found else "script"  # projects from before kinds
    if not committed or recorded == kind:
        return 0
    for undo in (["git", "reset", "-q", "--hard", "HEAD"], ["git", "clean", "-q", "-fd"]):
        quiet(undo)
    say(
        f"the project kind cannot change on update ({recorded} to {kind}): the kinds' main "
        "files differ. The update was undone (the work tree is back at its commit). Generate a "
        "new project of that kind and move your code into it."
    )
    return 1


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
    after_copy_step = steps.add_parser("after-copy", help="lock, then build the image if asked")
    after_copy_step.add_argument("--image-tag", required=True)
    after_copy_step.add_argument("--run", default="python main.py", help="what runs the app")
    after_copy_step.add_argument(
        "--docker-build", action=argparse.BooleanOptionalAction, required=True
    )
    steps.add_parser("before-update", help="put aside files an answer switch may delete")
    steps.add_parser("after-update", help="report conflicts, relock after copier's merge")
    kind = steps.add_parser("check-kind", help="refuse an update that switches the kind")
    kind.add_argument("--answers-file", type=Path, required=True)
    kind.add_argument("kind")
    rename = steps.add_parser("rename-answer", help="carry an answer to a renamed question")
    rename.add_argument("--answers-file", type=Path, required=True)
    rename.add_argument("old")
    rename.add_argument("new")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, interrupted)

    if args.step == "check-kind":
        return check_kind(args.answers_file, args.kind)
    if args.step == "rename-answer":
        rename_answer(args.answers_file, args.old, args.new)
    elif args.step == "after-copy":
        after_copy(args.image_tag, args.run, args.docker_build)
    elif args.step == "before-update":
        before_update()
    else:
        after_update()
    return 0


if __name__ == "__main__":
    sys.exit(main())
