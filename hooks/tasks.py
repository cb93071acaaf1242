"""Tasks and migrations of copier-uv-docker, run by copier with its own interpreter.

Copy time (`_tasks`):

    tasks.py after-copy --image-tag NAME --run COMMAND (--docker-build | --no-docker-build)
                        [--publish PORT] [--answers-file FILE]
        `uv lock`, then `docker build -t NAME .` when asked; a warning when the answers file
        records a template that CI cannot reach; then the next steps.

Update time, before copier writes anything (a "before" `_migrations` entry):

    tasks.py before-update [--answers-file FILE] [--data JSON] [--defaults] [--skip-tasks]
        render the project's template version and the new one aside, inside the git dir;
        refuse a switch of project kind and, with --defaults, a recorded answer that copier
        would replace without being asked (exit 1: nothing is written); keep the old render
        as the base that after-update compares and merges with.

Update time, after copier's merge ("after" `_migrations` entries):

    tasks.py check-kind [--answers-file FILE] KIND
        a switch of kind answered at a prompt: put back what the update changed inside the
        project (nothing outside it), say why, exit 1.
    tasks.py after-update [--answers-file FILE]
        carry a renamed package's module over with the owner's edits; keep aside, as
        `<file>.kept`, every file the owner had edited that the update removed; list the
        conflicts; `uv lock` once unless pyproject.toml is in conflict; name the locked
        packages the update dropped.

A template version that renames a question (a versioned "before" `_migrations` entry):

    tasks.py rename-answer --answers-file FILE OLD NEW

Where a project lives: anywhere in a git work tree (its root, a subfolder of a monorepo, a
`git worktree` or a submodule, where `.git` is a file). Everything here reads and writes only
inside the project folder, and its own state inside the git dir (`git rev-parse --git-path`),
under a name of the project's own, so two projects of one repository never share it.

Exit behaviour: copier deletes a freshly generated project when a task exits non-zero, so a
step that fails for a reason outside the template (uv or docker missing, no network, no
matching Python, a failed build, an interrupt) is reported on stderr with the commands still to
run, and the task still exits 0: the project stays on disk. Only a misuse of this script, or a
refused update (before anything is written, or undone inside the project), exits non-zero.
Every command runs with a time bound, so nothing here can hang for ever.

Standard library only; every command is an argument list, never a shell string.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import functools
import hashlib
import importlib.util
import json
import os
import re
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

PREFIX = "copier-uv-docker"
LOCK = "uv lock"  # what the user is told to run when locking could not be done here
ANSWERS_FILE = Path(".copier-answers.yml")  # the template's `_answers_file`
# Upper bounds, in seconds: generous for real work, finite for a stalled network or engine.
LOCK_TIMEOUT = 600
PROBE_TIMEOUT = 15
BUILD_TIMEOUT = 3600
RENDER_TIMEOUT = 300  # one render of the template by copier, cloning it first if remote
GIT_TIMEOUT = 60
# A template source that a CI runner can reach (copier's own shortcuts and git URLs).
# A template source a CI runner can reach: copier.yml's template_update default and the jobs'
# own source step read it alike (tests/test_tasks.py).
REMOTE_SOURCE = re.compile(r"^(gh:|gl:|git\+|https?://|ssh://|git://|[\w.-]+@[\w.-]+:)")
CONFLICT = re.compile(rb"^(<{7} |>{7} )", re.M)
READ_LIMIT = 1_000_000  # bytes of a file searched for conflict markers


# -- Saying things and running commands ---------------------------------------------------


class Interrupted(Exception):
    """Ctrl-C or SIGTERM during a step: the steps not done are reported, the project is kept."""


def interrupted(signum: int, frame: object) -> None:
    """SIGINT or SIGTERM as an exception of our own: subprocess kills the running command at
    once (for KeyboardInterrupt it would first wait, and copier kills this task 0.25 s after
    Ctrl-C), so the kept-project message is out before copier stops."""
    raise Interrupted


def say(*lines: str) -> None:
    print(
        "\n".join(f"{PREFIX}: {line}" if i == 0 else line for i, line in enumerate(lines)),
        file=sys.stderr,
        flush=True,
    )


def warn(what_failed: str, *later: str) -> None:
    """Say on stderr what failed, that the project is kept, and what to run once fixed."""
    project = Path.cwd()
    lines = [what_failed, f"  The project is kept in {project}."]
    if later:
        lines.append("  When that is fixed, run:")
        lines.append(f"    cd {shlex.quote(str(project))}")
        lines.extend(f"    {command}" for command in later)
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
        )
    except subprocess.TimeoutExpired:
        say(f"`{shlex.join(command)}` did not finish within {timeout:.0f} s and was stopped.")
        return 124, ""
    except OSError as error:  # found on PATH a moment ago, yet not executable
        say(str(error))
        return 127, ""
    stderr = os.fsdecode(done.stderr) if done.stderr else ""
    if stderr:
        print(stderr, end="", file=sys.stderr, flush=True)
    return done.returncode, stderr


def probe(command: list[str], timeout: float = PROBE_TIMEOUT) -> tuple[int, bytes]:
    """A short command, bounded, never shown: its exit code and raw stdout."""
    try:
        done = subprocess.run(
            command, capture_output=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.TimeoutExpired):
        return 1, b""
    return done.returncode, done.stdout


def line_of(out: bytes) -> str:
    """A command's one line of output as text, exactly: its line ending removed and nothing
    else, since a path may begin or end with spaces and hold any byte."""
    text = os.fsdecode(out)
    return text.removesuffix("\n")


def quiet(command: list[str], timeout: float = PROBE_TIMEOUT) -> tuple[int, str]:
    """A short probe: its exit code and its one line of output (any bytes kept)."""
    code, out = probe(command, timeout)
    return code, line_of(out)


def git(*args: str) -> tuple[int, bytes]:
    """git in the current folder (the project), bounded; paths printed as they are."""
    return probe(["git", "-c", "core.quotePath=false", *args], GIT_TIMEOUT)


def aligned(steps: Sequence[tuple[str, str]]) -> list[str]:
    """A block of commands, each comment two spaces after the block's longest command (the
    rule the generated README's command blocks follow)."""
    width = max((len(command) for command, _ in steps), default=0)
    return [
        f"{command.ljust(width)}  # {comment}" if comment else command for command, comment in steps
    ]


# -- Copy time: lock, build, next steps ---------------------------------------------------


def reason_of(stderr: str) -> str:
    """uv's own reason on one line: its `error:` line, the first and last `cause:` lines
    (what failed, and why at the root) and its first hint, one on the network first: uv gives
    that one last, after advice on the project that cannot help while the index is out of reach."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    if not errors:
        return lines[-1] if lines else "no message"
    causes = [line for line in lines if line.startswith("cause:")]
    hints = sorted(
        (line for line in lines if line.startswith("hint:")), key=lambda hint: "network" not in hint
    )
    parts = [errors[0], *causes[:1], *causes[1:][-1:], *hints[:1]]
    return " / ".join(parts)


def uv_command() -> list[str] | None:
    """uv on PATH, or else the uv package in copier's own environment."""
    if found := shutil.which("uv"):
        return [found]
    if importlib.util.find_spec("uv") is not None:
        return [sys.executable, "-m", "uv"]
    return None


def workspace_root(uv: list[str]) -> Path | None:
    """The enclosing uv workspace this project would be locked into, if any."""
    code, found = quiet([*uv, "workspace", "dir"])
    if code != 0 or not found:
        return None
    here = Path.cwd().resolve()
    # uv prints the root as text for a terminal: bytes that are not UTF-8 replaced, control
    # characters left out, separators kept. A root above this folder has fewer of them.
    if found != "/" and found.count("/") == str(here).count("/"):
        return None
    root = Path(found)
    try:
        return None if root.exists() and root.samefile(here) else root
    except OSError:
        return root


MEMBERSHIP: dict[str, Path | None] = {}  # uv's answer, asked once; an update's, before its merge
MEMBERSHIP_FILE = "workspace"  # where the update's state keeps it for after the merge


def member_of() -> Path | None:
    """The uv workspace this project is a member of, if uv is here to say."""
    if "root" not in MEMBERSHIP:
        uv = uv_command()
        MEMBERSHIP["root"] = workspace_root(uv) if uv else None
    return MEMBERSHIP["root"]


def workspace_above() -> Path | None:
    """The nearest folder above this one whose pyproject.toml declares a uv workspace: read
    as text, for when uv is not here to say whether this project is one of its members."""
    for folder in Path.cwd().resolve().parents:
        with contextlib.suppress(OSError, UnicodeDecodeError):
            if not (folder / "pyproject.toml").is_file():  # a named pipe would block its read
                continue
            text = (folder / "pyproject.toml").read_text(encoding="utf-8")
            if re.search(r"^\[tool\.uv\.workspace\]", text, flags=re.M):
                return folder
    return None


def leave_workspace() -> str:
    """What must come before `uv lock` here: nothing, unless this project is a uv workspace's
    member, where `uv lock` would lock the workspace instead."""
    exclude = "add this folder to `exclude` under [tool.uv.workspace]"
    if root := member_of():
        return f"{exclude} in {root / 'pyproject.toml'}"
    if uv_command() is None and (above := workspace_above()):
        return (
            f"if uv counts this folder as a member of the uv workspace in "
            f"{above / 'pyproject.toml'} (uv was not here to ask), {exclude} there"
        )
    return ""


def lock_steps() -> list[str]:
    """What the user is told to run to lock later, as lines of a shell session."""
    first = leave_workspace()
    return [f"# {first}, then:", LOCK] if first else [LOCK]


def lock() -> bool:
    """Bring uv.lock in line with pyproject.toml; say what to do if that cannot be done."""
    uv = uv_command()
    if uv is None:
        warn(
            "uv was not found (neither on PATH nor as `python -m uv`), so uv.lock was not "
            "written.\n  Install uv: https://docs.astral.sh/uv/getting-started/installation/",
            *lock_steps(),
        )
        return False
    if root := member_of():
        warn(
            f"this project is a member of the uv workspace at {root}: `uv lock` here would "
            f"lock it into {root / 'uv.lock'}, so it was not run, and nothing of {root} was "
            f"changed.\n  The image is built from this project's own uv.lock: {leave_workspace()}.",
            LOCK,
        )
        return False
    code, stderr = run([*uv, "lock"], LOCK_TIMEOUT, capture=True)
    if code != 0:
        warn(f"`uv lock` failed (exit code {code}): {reason_of(stderr)}", *lock_steps())
        return False
    return True


def build_command(tag: str) -> list[str]:
    """The build this hook runs, as the user is told to run it."""
    return ["docker", "build", "-t", tag, "."]


# DOCKER_BUILDKIT as the user set it, before this hook sets it for its own build. The Docker
# client reads it as Go's strconv.ParseBool does.
USERS_BUILDKIT = os.environ.get("DOCKER_BUILDKIT")
TRUE, FALSE = {"1", "t", "T", "TRUE", "true", "True"}, {"0", "f", "F", "FALSE", "false", "False"}


@functools.cache
def client_version(docker: str) -> str:
    """`docker --version`'s line ("" if it fails), asked once: the next steps, the build
    and its BuildKit check all read it."""
    code, version = quiet([docker, "--version"])
    return version if code == 0 else ""


def legacy_by_default(docker: str) -> bool:
    """Docker 18.09 to 22: BuildKit is built in, but `docker build` uses the legacy builder
    unless DOCKER_BUILDKIT=1 (from 23 on, buildx is the default builder). Podman: Buildah."""
    major = re.match(r"Docker version (\d+)\.", client_version(docker))
    return major is not None and int(major.group(1)) < 23


@functools.cache  # asked by the build and by the next steps: probed once
def buildkit_missing(docker: str) -> str | None:
    """Why `docker build` would use the legacy builder, which cannot do `RUN --mount`."""
    if USERS_BUILDKIT is not None and USERS_BUILDKIT not in TRUE:
        off = "selects Docker's legacy builder" if USERS_BUILDKIT in FALSE else "is not a boolean"
        return f"DOCKER_BUILDKIT={USERS_BUILDKIT} {off}"
    if legacy_by_default(docker):
        os.environ["DOCKER_BUILDKIT"] = "1"  # for this hook's own build
        return None
    if quiet([docker, "buildx", "version"])[0] == 0:
        return None
    if "podman" in client_version(docker).lower():
        return None  # Podman builds with Buildah, which does `RUN --mount`
    return "the buildx plugin, which gives `docker build` BuildKit, is not installed"


def build_line(tag: str) -> str:
    """The build as the user should type it: with DOCKER_BUILDKIT=1 where their client would
    otherwise use the legacy builder."""
    docker = shutil.which("docker")
    needs = USERS_BUILDKIT not in TRUE and docker is not None and legacy_by_default(docker)
    return ("DOCKER_BUILDKIT=1 " if needs else "") + shlex.join(build_command(tag))


def build_step(tag: str) -> tuple[str, str]:
    """The build as the next steps say it, with what to do first where this client would
    build without BuildKit (checked whether or not the hook built; the probes are bounded).
    Docker 18.09 to 22 get DOCKER_BUILDKIT=1 in the line itself (build_line)."""
    docker = shutil.which("docker")
    missing = docker is not None and not legacy_by_default(docker) and buildkit_missing(docker)
    if not missing:
        first = ""
    elif USERS_BUILDKIT is not None and USERS_BUILDKIT not in TRUE:
        first = f"first unset DOCKER_BUILDKIT ({USERS_BUILDKIT} turns BuildKit off)"
    else:
        first = "first install Docker's buildx plugin (Debian, Ubuntu: docker-buildx)"
    return build_line(tag), first


def docker_build(tag: str) -> bool:
    """Build the image tagged with the project name; say what to do if that cannot be done."""
    build = build_line(tag)
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
    code, _ = run([docker, *build_command(tag)[1:]], BUILD_TIMEOUT)
    if code != 0:
        warn(f"`docker build` failed (exit code {code}), see its output above.", build)
    return code == 0


def has_template_update_job() -> bool:
    gitlab = Path(".gitlab-ci.yml")
    return Path(".github/workflows/template-update.yml").is_file() or (
        gitlab.is_file() and "\ntemplate-update:" in gitlab.read_text(encoding="utf-8")
    )


def check_relative_source(source: str, answers_file: Path) -> None:
    """One line when the template is recorded as a relative path: `copier update` looks for
    it from wherever it runs, which is not where `copier copy` ran."""
    if Path(source).expanduser().is_absolute():
        return
    # The shell's folder when copier ran (the tasks run in the project folder).
    where = Path(os.environ.get("PWD", "")) / source
    absolute = f" ({shlex.quote(str(where))})" if where.is_absolute() and where.is_dir() else ""
    say(
        f"the template is recorded as the relative path {source}, which `copier update` looks "
        f"for from the folder it runs in, so updating this project will fail: set `_src_path` "
        f"in {answers_file} to the template's absolute path{absolute} or its git URL."
    )


def check_source(answers_file: Path) -> None:
    """A line for each update that could not reach the recorded template: any update, from a
    relative path; the weekly template-update job, from a local one (or how to add that job
    later, which copier.yml leaves out by default for a local source)."""
    answers = read_answers(answers_file)
    source = answers.get("_src_path", "")
    if not source or REMOTE_SOURCE.match(source):
        return
    if "://" not in source:
        check_relative_source(source, answers_file)
    record = f"set `_src_path` in {answers_file} to the template's git URL and commit"
    if has_template_update_job():
        say(
            f"the template is recorded as the local path {source}, which CI cannot reach, so "
            f"the weekly template-update job will fail until you {record}."
        )
    elif answers.get("ci", "none") != "none" and answers.get("template_update") != "true":
        update = f"{update_command(answers_file)} --defaults --data template_update=true"
        say(
            f"no weekly template-update job: the template came from the local path {source}, "
            f"which CI cannot reach. To add the job once the template has a git URL: {record}, "
            f"then `{update}`."
        )


def inside_a_repository() -> bool:
    return quiet(["git", "rev-parse", "--is-inside-work-tree"])[1] == "true"


def check_recopied_kind(before: bytes, answers_file: Path) -> None:
    """One line when a recopy switched the project kind: the recopy writes the new kind's
    files and leaves the old kind's, which the update refuses to make."""
    recorded = recorded_kind(parse_answers(os.fsdecode(before)))
    kind = read_answers(answers_file).get("project_kind", recorded)
    if kind != recorded:
        say(
            f"the recopy switched the project kind ({recorded} to {kind}): the files of both "
            "kinds are now here. `git status` lists them; to go back: `git restore --staged "
            "--worktree .` and delete the new untracked files. A kind is best changed by "
            "generating a new project and moving your code into it."
        )


# Where each CI service reads its files: at the repository's root, and nowhere else.
ROOT_ONLY = {".github/workflows": "GitHub", ".github/dependabot.yml": "Dependabot",
             ".gitlab-ci.yml": "GitLab"}  # fmt: skip


def check_ci_location() -> None:
    """One line when this project's CI files sit in a repository's subfolder, never read."""
    prefix = project_prefix()
    found = [path for path in ROOT_ONLY if Path(path).exists()]
    if prefix and found:
        readers = ", ".join(f"{ROOT_ONLY[path]} {path}" for path in found)
        say(
            f"this project is the folder {prefix} of its repository, and CI reads its files at "
            f"the repository's root only ({readers}): move them there, with the jobs' working "
            f"directory set to {prefix}, or they never run."
        )


def update_command(answers_file: Path) -> str:
    """`copier update` as this project needs it: copier finds only its default answers file."""
    option = [] if answers_file == ANSWERS_FILE else ["--answers-file", str(answers_file)]
    return shlex.join(["uvx", "copier", "update", "--trust", *option])


def ignored_files(in_repository: bool) -> list[str]:
    """The project's files, as the copy left them, that the user's git ignores (a global
    excludes file, a repository above): `git add` would leave them out without a word."""
    project = Path.cwd()
    names = sorted(
        path.relative_to(project).as_posix()
        for path in project.rglob("*")
        if ".git" not in path.relative_to(project).parts and path.is_file()
    )
    if not names:
        return []
    with tempfile.TemporaryDirectory(prefix="copier-uv-docker-") as scratch:
        # Outside a repository: a new one, with this project's .gitignore, as `git init` makes.
        where = str(project) if in_repository else scratch
        if not in_repository:
            probe(["git", "init", "-q", scratch])
            if (project / ".gitignore").is_file():
                shutil.copy(project / ".gitignore", scratch)
        command = ["git", "-C", where, "-c", "core.quotePath=false", "check-ignore", "--"]
        code, out = probe([*command, *names], GIT_TIMEOUT)
    return os.fsdecode(out).splitlines() if code == 0 else []  # the template's names: one line each


def next_steps(
    tag: str, run_app: str, built: bool, port: str, answers_file: Path, recopy: bool
) -> None:
    """What to do now, for this project as it is (absolute path, git or not); a service's
    `docker run` publishes its port."""
    project = Path.cwd()
    review = []
    in_repository = inside_a_repository()
    ignored = ignored_files(in_repository)
    forced = f"git add -f -- {shlex.join(ignored)} && " if ignored else ""
    if recopy:  # the template rewrote committed files
        review = [("git diff", "review what the recopy rewrote, before committing it")]
        commit = f'git add . && {forced}git commit -m "Recopy from copier-uv-docker" -- .'
    elif in_repository:  # a subfolder of a repository: commit this folder only
        commit = f'git add . && {forced}git commit -m "Start from copier-uv-docker" -- .'
    else:
        commit = f'git init && git add -A && {forced}git commit -m "Start from copier-uv-docker"'
    if ignored:
        say(
            f"your git ignores {', '.join(ignored)} (a global excludes file, or a repository "
            "above): the commit below adds them with -f, as the project needs them."
        )
    build = [] if built else [build_step(tag)]
    publish = f"-p {port}:{port} " if port else ""
    blocks = [
        aligned([(f"cd {shlex.quote(str(project))}", ""), *review, (commit, "")]),
        aligned([
            (f"uv run {run_app}", "run it"),
            ("uv run pytest", "test it"),
            *build,
            (f"docker run --rm {publish}{tag}", ""),
            ("docker compose watch", "follow your edits"),
        ]),
    ]  # fmt: skip
    # In a workspace's member, `uv run` would lock and sync the workspace, outside the project.
    if first := leave_workspace():
        blocks[1].insert(0, f"# {first}, then:")
    print(
        f"\nYour project {tag} is ready in {project}.\n\nNext steps:\n"
        + "\n".join("".join(f"  {line}\n" for line in block) for block in blocks)
        + f"\nKeep it current with the template: commit, then `{update_command(answers_file)}`.",
        file=sys.stderr,
        flush=True,
    )


def after_copy(
    tag: str, run_app: str, build: bool, port: str, answers_file: Path, data: dict[str, object]
) -> None:
    """Lock, build if asked, then the next steps; whatever fails, the project stays."""
    later = [build_line(tag)] if build else []
    locked = built = False
    try:
        if locked := lock():
            built = build and docker_build(tag)
        elif build:
            warn("the image was not built: it needs uv.lock.", *lock_steps(), *later)
    except Interrupted:
        todo = later if locked else [*lock_steps(), *later]
        warn("interrupted: the steps after this point were not run.", *todo)
        return
    check_source(answers_file)
    template = Path(__file__).resolve().parents[1]  # copier's checkout of this version
    names = questions(template)
    now = read_answers(answers_file)
    answered = [key for key in now if not key.startswith("_")]
    for line in unknown_data(data, names, answered, {}):
        say(line)
    # Answers already committed here: this copy is a recopy.
    if (before := committed(answers_file)) is not None:
        check_recopied_kind(before, answers_file)
        recorded = parse_answers(os.fsdecode(before))
        for key, value in dropped_answers(recorded, names).items():
            say(
                f"this template version asks no question {key}: the recopy dropped its "
                f"recorded answer {shlex.quote(value)} (`git diff "
                f"{shlex.quote(answers_file.as_posix())}` shows what it took instead)."
            )
        say_refused_on_recopy(recorded, now, data, template, before, answers_file)
    check_ci_location()
    next_steps(tag, run_app, built, port, answers_file, recopy=before is not None)


def say_refused_on_recopy(
    recorded: dict[str, str],
    now: dict[str, str],
    data: dict[str, object],
    template: Path,
    before: bytes,
    answers_file: Path,
) -> None:
    """A recopy writes before any hook can run: name each recorded answer it replaced
    because this version refuses it (copier takes the default then, without a word). An
    answer changed at a prompt is valid, and is not named."""
    swaps = swapped_answers(recorded, now, data)
    if not swaps:
        return
    with tempfile.TemporaryDirectory() as work:
        lines = explain_swaps(swaps, recorded, data, template, Path(work), before, answers_file,
                              then="the recopy switched it to", refused_only=True)  # fmt: skip
    if lines:
        say(
            "this template version refuses recorded answers, so the recopy replaced them:",
            *lines,
            f"  `git diff {shlex.quote(answers_file.as_posix())}` shows them; recopy again "
            "with each fixed as --data NAME=VALUE.",
        )


# -- Update time: where the project is, what it recorded ----------------------------------


def unquote(value: str) -> str:
    """A YAML scalar as copier writes it (plain, 'single' or "double" quoted), as text."""
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1].replace("''", "'")
    if len(value) >= 2 and value[0] == value[-1] == '"':
        try:
            return str(json.loads(value))
        except ValueError:
            return value[1:-1]
    return value


def parse_answers(text: str) -> dict[str, str]:
    """The top-level answers of an answers file written by copier, as text: enough to
    compare two of them (folded lines joined, quotes removed)."""
    lines: dict[str, list[str]] = {}
    key = None
    for line in text.splitlines():
        if found := re.match(r"^([A-Za-z_][\w-]*):(?: +(.*))?$", line):
            key = found.group(1)
            lines[key] = [found.group(2) or ""]
        elif key is not None and line.startswith(" "):
            lines[key].append(line.strip())
        else:
            key = None
    return {key: unquote(" ".join(parts).strip()) for key, parts in lines.items()}


def read_answers(path: Path) -> dict[str, str]:
    try:
        return parse_answers(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return {}


def project_prefix() -> str:
    """This project's folder relative to its repository's root: "" or "some/folder/"."""
    code, out = git("rev-parse", "--show-prefix")
    return line_of(out) if code == 0 else ""


def committed(path: Path) -> bytes | None:
    """A file of this project as committed (HEAD), whichever folder of the repository the
    project is in; None if it is not in HEAD."""
    code, out = git("cat-file", "blob", f"HEAD:{project_prefix()}{path.as_posix()}")
    return out if code == 0 else None


def committed_answers(answers_file: Path) -> dict[str, str]:
    text = committed(answers_file)
    return parse_answers(os.fsdecode(text)) if text is not None else {}


def state_dir() -> Path | None:
    """Where this project's update state lives: inside the git dir (resolved for worktrees
    and submodules), one folder per project folder of the repository, named by a digest of
    its path: a path of any length, in any script, makes a name that fits the file system."""
    prefix = os.fsencode(project_prefix().rstrip("/"))
    key = hashlib.sha256(prefix).hexdigest()[:32] if prefix else "root"
    code, out = git("rev-parse", "--git-path", f"{PREFIX}/{key}")
    return Path.cwd() / line_of(out) if code == 0 and out.strip() else None


def drop_state(state: Path) -> None:
    """Remove a project's update state, and the hook's folder in the git dir once empty."""
    shutil.rmtree(state, ignore_errors=True)
    with contextlib.suppress(OSError):
        state.parent.rmdir()


def recorded_kind(answers: dict[str, str]) -> str:
    return answers.get("project_kind", "script")  # projects from before kinds are scripts


def kind_refusal(recorded: str, kind: str, what_happened: str) -> None:
    say(
        f"the project kind cannot change on update ({recorded} to {kind}): the kinds' main "
        f"files differ. {what_happened} Generate a new project of that kind and move your "
        "code into it."
    )


# -- Update time, before copier writes: render aside, refuse what would swap an answer -----


def copier_copy(
    source: str,
    ref: str,
    destination: Path,
    answers: bytes,
    answers_file: Path,
    data: dict[str, object],
    pretend: bool = False,
) -> subprocess.Popen[bytes]:
    """Start copier rendering `source` at `ref` into `destination`, as `copier update` would
    for these recorded answers and these --data answers (tasks skipped, nothing asked)."""
    (destination / answers_file).parent.mkdir(parents=True, exist_ok=True)
    (destination / answers_file).write_bytes(answers)
    # Beside the destination, under a fixed name: the folder's own name may already be as
    # long as a file name can be. Renders that run at the same time have different parents.
    data_file = destination.parent / "data.json"
    data_file.write_text(json.dumps(data), encoding="utf-8")  # JSON is YAML for copier
    command = [
        sys.executable, "-m", "copier", "copy", "--trust", "--defaults", "--skip-tasks",
        "--quiet", "--overwrite", "--vcs-ref", ref, "--answers-file", answers_file.as_posix(),
        "--data-file", str(data_file), *(["--pretend"] if pretend else []), source,
        str(destination),
    ]  # fmt: skip
    return subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def finished(render: subprocess.Popen[bytes]) -> tuple[int, str]:
    """Wait for a render, bounded: its exit code and copier's last line."""
    try:
        _, stderr = render.communicate(timeout=RENDER_TIMEOUT)
    except subprocess.TimeoutExpired:
        render.kill()
        render.communicate()
        return 124, f"copier did not finish within {RENDER_TIMEOUT} s"
    lines = os.fsdecode(stderr).strip().splitlines()
    return render.returncode, lines[-1] if lines else ""


def refused_because(line: str) -> str:
    """Copier's reason for refusing an answer, without its exception's name."""
    line = re.sub(r"^\w+Error: ", "", line)
    return re.sub(r"^(Validation error for question|Invalid choice for) '[^']+': ", "", line)


def swapped_answers(
    recorded: dict[str, str], new: dict[str, str], data: dict[str, object]
) -> dict[str, str]:
    """Recorded answers that the new answers change without a --data answer asking to."""
    return {
        key: new[key]
        for key, value in recorded.items()
        if not key.startswith("_") and key in new and key not in data and new[key] != value
    }


# A top-level key: at the start of a line, maybe quoted, before a colon and a blank.
TOP_LEVEL_KEY = re.compile(
    r"""^(["']?)([^\s#"'?:\-!&*%@`|>\[\]{},][^:"'\n]*?)\1[ \t]*:(?:\s|$)""", re.M
)


def questions(template: Path) -> set[str]:
    """The names a template version answers: the top-level keys of copier.yml and of the
    files it includes (tests/test_tasks.py checks them against copier's own loader)."""
    config = (template / "copier.yml").read_text(encoding="utf-8")
    included = re.findall(r"^!include\s+(\S+)", config, flags=re.M)
    texts = [
        config,
        *(
            path.read_text(encoding="utf-8")
            for pattern in included
            for path in sorted(template.glob(pattern))
        ),
    ]
    return {match[2] for text in texts for match in TOP_LEVEL_KEY.finditer(text)}


def unknown_data(
    data: dict[str, object], names: set[str], answered: Sequence[str], renamed: dict[str, str]
) -> list[str]:
    """A line for each --data name no question of the template has (copier ignores those,
    and copier's own `_` names), with the question it may mean: the one a migration renamed
    it to, or a close name: a close old name means its new one."""
    lines = []
    for key in data:
        if key not in names and not key.startswith("_"):
            close = next(iter(difflib.get_close_matches(key, [*answered, *renamed])), None)
            meant = renamed.get(key) or renamed.get(close or "", close)
            lines.append(
                f"`{key}` (given with --data or --data-file) answers no question of this "
                "template version, so copier ignores it"
                + (f": did you mean {meant}?" if meant else ".")
            )
    return lines


def renamed_to(recorded: dict[str, str], migrated: dict[str, str]) -> dict[str, str]:
    """Each answer a migration renamed: its new name, the one with the recorded value."""
    return {
        old: new
        for old, value in recorded.items()
        if old not in migrated
        for new, moved in migrated.items()
        if new not in recorded and moved == value
    }


def dropped_answers(recorded: dict[str, str], asked: set[str]) -> dict[str, str]:
    """Recorded answers to questions the new version no longer has: removed, or renamed
    without a migration, and then copier forgets the answer."""
    return {key: v for key, v in recorded.items() if not key.startswith("_") and key not in asked}


def hidden_answers(
    recorded: dict[str, str], now: dict[str, str], asked: set[str]
) -> dict[str, str]:
    """Recorded answers to questions the new version still has but does not ask with the new
    answers (their `when` is false): copier forgets them, and offers the default next time."""
    return {
        key: value
        for key, value in recorded.items()
        if not key.startswith("_") and key in asked and key not in now
    }


def explain_swaps(
    swaps: dict[str, str],
    recorded: dict[str, str],
    data: dict[str, object],
    template: Path,
    work: Path,
    answers: bytes,
    answers_file: Path,
    then: str = "copier would switch it to",
    refused_only: bool = False,
) -> list[str]:
    """One line per swapped answer, with copier's own reason for refusing the recorded one
    (only those copier refuses, if refused_only)."""
    lines = []
    for key, new in swaps.items():
        trial = work / f"why-{key}"
        code, last = finished(
            copier_copy(str(template), "HEAD", trial, answers, answers_file,
                        {**data, key: recorded[key]}, pretend=True)
        )  # fmt: skip
        if code == 0 and refused_only:
            continue
        reason = refused_because(last) if code != 0 and last else "the template refuses it"
        reason = "the" + reason[3:] if reason.startswith("The ") else reason  # mid-sentence
        lines.append(
            f"  {key}={shlex.quote(recorded[key])} is recorded, but {reason.rstrip('.')}; "
            f"{then} {key}={shlex.quote(new)}."
        )
    return lines


def explain_drops(
    dropped: dict[str, str], fresh: list[str], version: str, answers_file: Path, asked: bool
) -> list[str]:
    """What the update forgets and, where a question new to this project may be a dropped one
    renamed, how to carry its answer over. Said, not refused: the answers alone cannot tell a
    rename from a question dropped in one version and another added in a version skipped."""
    lines = []
    for key, value in dropped.items():
        lines.append(f"{version} no longer asks {key}: its recorded answer {shlex.quote(value)} "
                     "is dropped.")  # fmt: skip
        if not (value and fresh):
            continue
        if asked:  # copier's prompts come next
            carry = "give it that answer below."
        else:
            name = fresh[0] if len(fresh) == 1 else "NAME"
            carry = (
                "carry the answer over once this update is committed: "
                f"{update_command(answers_file)} --defaults --data {name}={shlex.quote(value)}"
            )
        lines.append(f"  If {' or '.join(fresh)} replaces it, {carry}")
    return lines


def accept_line(taken: dict[str, str], data: dict[str, object]) -> str:
    """How to go on: take the answers the update would take, or keep the recorded ones."""
    accept = " ".join(f"--data {key}={shlex.quote(value)}" for key, value in taken.items())
    given = " ".join(f"--data {key}={shlex.quote(str(value))}" for key, value in data.items())
    keep = f"leave out {given}" if given else "stay on your template version for now"
    return f"  To accept, re-run with {accept}; to keep your answers, {keep}."


def refuse(state: Path, answers_file: Path, committed: bytes, current: bytes) -> None:
    """Leave nothing of a refused update: its renders, and what a migration before this
    stage changed in the answers file (a renamed question's answer): back as committed."""
    drop_state(state)
    if committed and current != committed:
        answers_file.write_bytes(committed)


def unsafe_to_write(new: Path) -> list[str]:
    """One line per file of the project the update must not or cannot write, as git sees it
    whatever the user's settings (copier's own check reads status.showUntrackedFiles): a file
    git does not track, an ignored one the new version writes with other content, and a file
    it changes, or a folder it adds to, that is read-only for this user."""
    lines = [
        f"{name}: not committed (commit it, or move it out of the project)"
        for name in listed("--others", "--exclude-standard", "--", ".")
    ]
    rendered = sorted(path.relative_to(new) for path in new.rglob("*") if not path.is_dir())
    specs = [f":(literal){path.as_posix()}" for path in rendered]
    ignored = set(listed("--others", "--ignored", "--exclude-standard", "--", *specs))
    for path in rendered:
        name = path.as_posix()
        if os.path.lexists(path) and read_regular(path) == read_regular(new / path):
            continue  # copier leaves a file it would write unchanged alone
        if name in ignored:
            lines.append(f"{name}: ignored by git, and the new version writes it (move it aside)")
        elif os.path.lexists(path):
            if not os.access(path, os.W_OK):
                lines.append(f"{name}: read-only, and the update rewrites it (chmod u+w it)")
        else:
            folder = next(parent for parent in path.parents if parent.exists())
            if not os.access(folder, os.W_OK | os.X_OK):
                where = "the project's folder" if folder == Path() else f"{folder.as_posix()}/"
                lines.append(f"{name}: new, and {where} is read-only (chmod u+w it)")
    return lines


def before_update(
    answers_file: Path,
    destination: Path,
    data: dict[str, object] | None,
    defaults: bool,
    skip_tasks: bool,
) -> int:
    """Render the project's template version and the new one aside, refuse what the update
    must not do (exit 1, nothing written), and keep the old render for after_update."""
    state = state_dir()
    if state is None:
        return 0
    shutil.rmtree(state, ignore_errors=True)
    state.mkdir(parents=True)
    template = Path(__file__).resolve().parents[1]  # copier's checkout of the new version
    old_answers = committed(answers_file) or b""
    recorded = parse_answers(os.fsdecode(old_answers))
    current = answers_file.read_bytes() if answers_file.is_file() else old_answers
    if ".." in destination.parts:
        # Copier 9.19 keeps the `..` in the path it merges into, and fails half-way through.
        say(
            "copier cannot update a project named through `..`: it would stop half-way through "
            f"its merge. Run the same command with {shlex.quote(str(Path.cwd()))} as the "
            "project's path (or from that folder, with none)."
        )
        refuse(state, answers_file, old_answers, current)
        return 1
    name = Path.cwd().name  # the folder's name, from which copier derives defaults
    renders: dict[str, subprocess.Popen[bytes]] = {}
    try:
        renders["new"] = copier_copy(
            str(template), "HEAD", state / "new" / name, current, answers_file, data or {}
        )
        source, version = recorded.get("_src_path"), recorded.get("_commit")
        if source and version and not skip_tasks:
            renders["old"] = copier_copy(
                source, version, state / "old" / name, old_answers, answers_file, {}
            )
        results = {which: finished(render) for which, render in renders.items()}
    except Interrupted:
        for render in renders.values():
            render.kill()
            render.wait()
        say("interrupted: the update was stopped before anything was written.")
        refuse(state, answers_file, old_answers, current)
        return 1
    if results["new"][0] != 0:
        if not (data or defaults):
            # Copier asks every question next, and may be given answers it takes.
            drop_state(state)
            return 0
        # Copier would refuse the same answers next (it checks --data before any prompt),
        # with a traceback, and leave a migration's renamed answer in the answers file.
        line = results["new"][1]
        reason = re.sub(r"^\w+Error: ", "", line) or "copier could not render the new version"
        say(f"the update was stopped before anything was written: {reason}")
        refuse(state, answers_file, old_answers, current)
        return 1
    new = read_answers(state / "new" / name / answers_file)
    kind = recorded_kind(recorded)
    if new.get("project_kind", kind) != kind:
        kind_refusal(kind, new["project_kind"], "The update was stopped: nothing was written.")
        refuse(state, answers_file, old_answers, current)
        return 1
    if unsafe := unsafe_to_write(state / "new" / name):
        say(
            "the update was stopped before anything was written: it would overwrite what git "
            "does not hold, or could not write, in:",
            *(f"  {line}" for line in unsafe),
        )
        refuse(state, answers_file, old_answers, current)
        return 1
    # The answers as this update reads them: a migration may have renamed some already.
    # Without --defaults, copier asks every question, showing the answer it would take.
    migrated = parse_answers(os.fsdecode(current))
    given = data or {}
    version = new.get("_commit", "the new version")
    names = questions(template)
    renamed = renamed_to(recorded, migrated)
    answered = [key for key in new if not key.startswith("_")]
    swaps = swapped_answers(migrated, new, given)
    if defaults and data is not None and swaps:
        lines = explain_swaps(swaps, migrated, given, template, state, current, answers_file)
        say(
            "the update would replace recorded answers you did not ask to change, so it was "
            "stopped before anything was written:",
            *lines,
            accept_line(swaps, given),
        )
        refuse(state, answers_file, old_answers, current)
        return 1
    if swaps:  # without --defaults: copier's prompts come next, each offering its default
        lines = explain_swaps(swaps, migrated, given, template, state, current, answers_file,
                              then="its prompt offers")  # fmt: skip
        say(
            "the new version refuses recorded answers, so copier asks for them below, "
            "offering its default instead of yours:",
            *lines,
        )
    dropped = dropped_answers(migrated, names)
    fresh = [key for key in answered if key not in migrated and key not in given]
    if len(dropped) == len(fresh) == 1:  # what a rename without its migration looks like
        renamed.setdefault(next(iter(dropped)), fresh[0])
    for line in unknown_data(given, names, answered, renamed):
        say(line)
    if dropped:
        say(*explain_drops(dropped, fresh, version, answers_file, asked=not defaults))
    if "old" in results and results["old"][0] != 0:
        say(
            f"the project's template version could not be rendered for comparison "
            f"({results['old'][1]}): every file the update removes will be kept aside."
        )
        shutil.rmtree(state / "old", ignore_errors=True)
    if skip_tasks:
        drop_state(state)
    else:
        # Asked now: the merge can leave pyproject.toml in conflict, which uv cannot read.
        root = member_of()
        (state / MEMBERSHIP_FILE).write_bytes(os.fsencode(root) if root else b"")
    return 0


# -- Update time, after copier's merge ----------------------------------------------------


def undo_update() -> None:
    """Put back what the update changed inside the project, and only there: its tracked
    files as committed, and the files it created (copier updates only a project folder with
    nothing uncommitted, so every untracked file in it that git does not ignore is new)."""
    git("restore", "--source=HEAD", "--staged", "--worktree", "--", ".")
    git("clean", "-q", "-f", "-d", "--", ".")


def check_kind(answers_file: Path, kind: str) -> int:
    """After the merge: 0 if the project kind is the one committed, else undo the update
    inside the project, say why, and return 1."""
    recorded = committed_answers(answers_file)
    if not recorded or recorded_kind(recorded) == kind:
        return 0
    undo_update()
    if state := state_dir():
        drop_state(state)
    kind_refusal(
        recorded_kind(recorded),
        kind,
        "The update was undone inside the project (its files are back at their commit; "
        "nothing outside it was touched).",
    )
    return 1


def read_regular(path: Path, limit: int = -1) -> bytes | None:
    """A regular file's bytes (the first `limit` if given); None for anything else (a named
    pipe, a socket, a device, a symbolic link: never opened in a way that could block, nor
    followed out of the project)."""
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0)
        descriptor = os.open(path, flags)
    except OSError:
        return None
    with os.fdopen(descriptor, "rb") as file:
        if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
            return None
        return file.read(limit)


def listed(*args: str) -> list[str]:
    code, out = git("ls-files", "-z", *args)
    return [os.fsdecode(name) for name in out.split(b"\0") if name] if code == 0 else []


def written_files() -> set[str]:
    """The project's files the update may have written: those that differ from HEAD, and
    the new ones git does not ignore (every tracked one if there is no HEAD to compare)."""
    code, out = git("diff", "--name-only", "--relative", "-z", "HEAD", "--", ".")
    if code == 0:
        changed = {os.fsdecode(name) for name in out.split(b"\0") if name}
    else:
        changed = set(listed("--cached", "--", "."))
    return changed | set(listed("--others", "--exclude-standard", "--", "."))


def conflicted_files() -> list[str]:
    """Files of the project that copier's merge left with conflict markers or as `.rej`:
    among those it wrote (a file of yours it never touched may hold marker-like lines of its
    own), and `.rej` files even if ignored."""
    names = written_files()
    names |= set(listed("--others", "--ignored", "--exclude-standard", "--", "*.rej"))
    found = []
    for name in sorted(names):
        head = read_regular(Path(name), READ_LIMIT)
        if head is None:
            continue
        if name.endswith(".rej") or (b"\0" not in head and CONFLICT.search(head)):
            found.append(name)
    return found


def tracked_paths() -> list[str]:
    """The project's files as committed (HEAD), relative to the project folder."""
    code, out = git("ls-tree", "-r", "-z", "--name-only", "HEAD", "--", ".")
    return [os.fsdecode(name) for name in out.split(b"\0") if name] if code == 0 else []


def package_dirs(root: Path) -> set[str]:
    return {p.parent.name for p in root.glob("src/*/__init__.py")}


def committed_package_dirs() -> set[str]:
    """The packages under src/ as committed (HEAD): the owner's own ones, and the template's."""
    found = (re.fullmatch(r"src/([^/]+)/__init__\.py", name) for name in tracked_paths())
    return {match.group(1) for match in found if match}


# The longest file name, in bytes, of Linux's and macOS's file systems.
NAME_MAX = 255


def aside_path(name: str) -> Path:
    """A path beside the file `name` that nothing holds yet, for the owner's copy of it:
    `<file>.kept`, else `.kept-2`, `.kept-3`... (an earlier update's copy stays), the file's
    own name shortened if the suffix would not fit in a file name."""
    path = Path(name)
    for number in range(1, 10_000):
        suffix = ".kept" if number == 1 else f".kept-{number}"
        stem = path.name
        while len(os.fsencode(stem + suffix)) > NAME_MAX:
            stem = stem[:-1]
        aside = path.with_name(stem + suffix)
        if not os.path.lexists(aside):
            return aside
    raise OSError(f"no free name beside {name} for your copy of it")


def merge_three(ours: bytes, base: bytes, theirs: bytes, label: str) -> tuple[bytes, bool]:
    """The owner's version with the template's changes from base to theirs; True if it
    holds conflict markers."""
    with tempfile.TemporaryDirectory(prefix=f"{PREFIX}-") as work:
        files = []
        for name, text in (("yours", ours), ("base", base), ("template", theirs)):
            (Path(work) / name).write_bytes(text)
            files.append(str(Path(work) / name))
        labels = ["-L", f"{label} (yours)", "-L", "before updating", "-L", "after updating"]
        code, merged = probe(["git", "merge-file", "-p", *labels, *files], GIT_TIMEOUT)
    if code < 0 or code > 127:  # git failed: keep the owner's text, marked as a conflict
        return ours, True
    return merged, code > 0


def carry_and_keep(old: Path | None) -> tuple[list[str], list[str]]:
    """The files the update removed that the owner had edited (or any, without the old
    render to compare with): a renamed package's module carried to its new name, merged
    with the template's changes; everything else kept beside it (`<file>.kept`)."""
    vanished = [name for name in tracked_paths() if not os.path.lexists(name)]
    if not vanished:
        return [], []
    # A rename, from git's view rather than the template's: the one package whose
    # __init__.py the update removed, and the one it created. The owner's own packages are
    # in both HEAD and the work tree, whatever their number.
    committed_dirs, present = committed_package_dirs(), package_dirs(Path("."))
    gone, new = committed_dirs - present, present - committed_dirs
    rename = (gone.pop(), new.pop()) if len(gone) == 1 and len(new) == 1 else None
    carried, kept = [], []
    for name in vanished:
        ours = committed(Path(name))
        if ours is None:
            continue
        base = read_regular(old / name) if old else None
        if rename and name.startswith(f"src/{rename[0]}/"):
            target = Path("src", rename[1], name.removeprefix(f"src/{rename[0]}/"))
            theirs = read_regular(target)
            text, conflict = ours, False
            if theirs is not None:
                text, conflict = merge_three(ours, base or b"", theirs, name)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(text)
            carried.append(f"{name} -> {target.as_posix()}" + (" (in conflict)" * conflict))
        elif base != ours:  # the owner's edit, or no render to tell
            aside = aside_path(name)
            aside.parent.mkdir(parents=True, exist_ok=True)
            aside.write_bytes(ours)
            kept.append(f"{name} (your copy: {aside.as_posix()})")
    if rename:
        carried += move_rest(Path("src", rename[0]), Path("src", rename[1]))
    elif gone:
        folders = ", ".join(f"src/{name}" for name in sorted(gone))
        say(
            f"the update removed the module {folders} (its __init__.py), with no one new "
            f"package under src/ to carry it to: the files of yours still there stay there."
        )
    return carried, kept


def move_rest(old: Path, new: Path) -> list[str]:
    """The owner's files left in a renamed module (the template never had them): moved."""
    moved = []
    for path in sorted(old.rglob("*")) if old.is_dir() else []:
        if "__pycache__" in path.parts or path.is_dir():
            continue
        target = new / path.relative_to(old)
        if not os.path.lexists(target):
            target.parent.mkdir(parents=True, exist_ok=True)
            path.rename(target)
            moved.append(f"{path.as_posix()} -> {target.as_posix()}")
    for cache in old.rglob("__pycache__") if old.is_dir() else []:
        shutil.rmtree(cache, ignore_errors=True)  # bytecode of files no longer there
    folders = sorted((p for p in old.rglob("*") if p.is_dir()), reverse=True)
    for folder in [*folders, old] if old.is_dir() else []:
        if not any(folder.iterdir()):
            folder.rmdir()
    return moved


def locked_packages() -> set[str]:
    """The package names uv.lock holds (empty if there is no lock), the project itself
    (whose source is its own folder) left out."""
    lock = Path("uv.lock")
    text = lock.read_text(encoding="utf-8") if lock.is_file() else ""
    names = set()
    for entry in text.split("[[package]]\n")[1:]:
        name = re.match(r'name = "([^"]+)"', entry)
        own = re.search(r'^source = \{ (editable|virtual) = "\." \}', entry, re.M)
        if name and not own:
            names.add(name.group(1))
    return names


def instructions(text: str) -> list[tuple[int, str]]:
    """A Dockerfile's instructions, each with its first line's number, continuation lines
    joined and comments dropped."""
    found: list[tuple[int, str]] = []
    parts: list[str] = []
    start = 0
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not parts and (not stripped or stripped.startswith("#")):
            continue
        if not parts:
            start = number
        if stripped.startswith("#"):
            continue
        parts.append(stripped.removesuffix("\\").strip())
        if not stripped.endswith("\\"):
            found.append((start, " ".join(part for part in parts if part)))
            parts = []
    return found


def owner_lines_without_a_shell(old_render: Path, shell_less_base: str) -> list[str]:
    """The owner's RUN instructions (in the Dockerfile as committed, not in the template's
    render of that version) that the merged Dockerfile runs in a stage built on a base image
    without a shell: a shell-form RUN, or one that calls a package manager."""
    committed_text = committed(Path("Dockerfile"))
    merged = read_regular(Path("Dockerfile"), READ_LIMIT)
    rendered = read_regular(old_render, READ_LIMIT)
    if committed_text is None or merged is None or rendered is None:
        return []
    template = {text for _, text in instructions(os.fsdecode(rendered))}
    owners = {text for _, text in instructions(os.fsdecode(committed_text))} - template
    shell_less: set[str] = set()
    in_shell_less = False
    lines = []
    for number, text in instructions(os.fsdecode(merged)):
        words = text.split()
        if words[0].upper() == "FROM":
            rest = [word for word in words[1:] if not word.startswith("--")]
            in_shell_less = bool(rest) and (rest[0] == shell_less_base or rest[0] in shell_less)
            if in_shell_less and len(rest) == 3 and rest[1].upper() == "AS":
                shell_less.add(rest[2])
            continue
        if not in_shell_less or text not in owners or words[0].upper() != "RUN":
            continue
        command = " ".join(word for word in words[1:] if not word.startswith("--"))
        if not command.startswith("[") or re.search(r"\b(apt-get|apt|dpkg)\b", command):
            lines.append(f"Dockerfile line {number}: {text}")
    return lines


def after_update(answers_file: Path, shell_less_base: str = "") -> None:
    """After copier's merge: name the answers it forgot, carry over and keep aside what it
    removed, report conflicts, relock unless unsafe, and name the locked packages it dropped."""
    now = read_answers(answers_file) if answers_file.is_file() else {}
    asked = questions(Path(__file__).resolve().parents[1])
    for key, value in hidden_answers(committed_answers(answers_file), now, asked).items():
        say(
            f"{key} is not asked with your new answers, so copier drops its recorded answer "
            f"{shlex.quote(value)}: if a later update asks it again, it offers its default; "
            f"keep yours then with --data {key}={shlex.quote(value)}"
        )
    state = state_dir()
    old = state / "old" / Path.cwd().name if state else None
    carried, kept = carry_and_keep(old if old and old.is_dir() else None)
    unrunnable = (
        owner_lines_without_a_shell(old / "Dockerfile", shell_less_base)
        if shell_less_base and old and old.is_dir()
        else []
    )
    if unrunnable:
        say(
            f"your own Dockerfile lines below run where the new base image has no shell and no "
            f"package manager ({shell_less_base}); the update kept them, so the build will "
            "fail there:",
            *(f"  {line}" for line in unrunnable),
            '  Write each as an argument list (RUN ["python", ...]), or do it in a stage FROM a '
            "Debian image and COPY --from it what it makes, or choose a base image with a "
            "shell (`--data base_image=python-slim`).",
        )
    if state and (membership := state / MEMBERSHIP_FILE).is_file():
        root = membership.read_bytes()
        MEMBERSHIP["root"] = Path(os.fsdecode(root)) if root else None
    if state:
        drop_state(state)
    if carried:
        say(
            "the package was renamed: your module moved to its new name with your edits, "
            "merged with the template's changes (its other references to the old name are "
            "yours to change):",
            *(f"  {line}" for line in carried),
        )
    if kept:
        say(
            "the update removed files you had changed, which your answers or the template no "
            "longer ask for; your versions are kept beside them, for you to delete or reuse:",
            *(f"  {line}" for line in kept),
        )
    conflicts = conflicted_files()
    if conflicts:
        say(
            "the update left conflicts in:",
            *(f"  {name}" for name in conflicts),
            "  Resolve each `<<<<<<<` block (keep what you want, delete the markers), apply what "
            "each .rej file holds by hand and delete it; then "
            + (f"{first}, " if (first := leave_workspace()) else "")
            + "run `uv lock`; then `git add .` (git holds the conflicts as unmerged) and commit.",
        )
    if not Path("pyproject.toml").exists():
        warn("pyproject.toml is gone from the project, so uv.lock was not updated.")
        return
    if "pyproject.toml" in conflicts or Path("pyproject.toml.rej").exists():
        warn(
            "pyproject.toml is in conflict (markers or pyproject.toml.rej): uv.lock was not "
            "updated, so none of your locked packages is dropped.\n  Resolve pyproject.toml "
            "first.",
            *lock_steps(),
        )
        return
    before = locked_packages()
    try:
        if not lock():
            return
    except Interrupted:
        warn("interrupted: uv.lock was not updated.", *lock_steps())
        return
    if dropped := sorted(before - locked_packages()):
        say(
            "uv.lock no longer holds " + ", ".join(dropped) + ": the update removed them from "
            "pyproject.toml. If you still need one, `uv add` it (`uv add --dev` for a tool)."
        )


# -- A template version that renames a question -------------------------------------------


def rename_answer(answers_file: Path, old: str, new: str) -> None:
    """Rename a top-level `old: value` line of the answers file, unless `new` is there already.

    Run as a versioned "before" migration, so that copier reads the renamed answer."""
    text = answers_file.read_text(encoding="utf-8")
    if not re.search(rf"^{re.escape(new)}:", text, flags=re.M):
        text = re.sub(rf"^{re.escape(old)}:", f"{new}:", text, count=1, flags=re.M)
        answers_file.write_text(text, encoding="utf-8")


# -- Command line -------------------------------------------------------------------------


def json_object(text: str) -> dict[str, object]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("--data takes a JSON object")
    return {str(key): item for key, item in value.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tasks.py", description=__doc__.splitlines()[0])
    steps = parser.add_subparsers(dest="step", required=True)

    def step(name: str, help: str) -> argparse.ArgumentParser:
        sub = steps.add_parser(name, help=help)
        sub.add_argument("--answers-file", type=Path, default=ANSWERS_FILE)
        return sub

    copy = step("after-copy", "lock, build the image if asked, say what comes next")
    copy.add_argument("--image-tag", required=True)
    copy.add_argument("--run", default="python main.py", help="what runs the app")
    copy.add_argument("--docker-build", action=argparse.BooleanOptionalAction, required=True)
    copy.add_argument("--publish", default="", metavar="PORT", help="a service's port")
    copy.add_argument("--data", type=json_object, default={}, help="the --data answers, as JSON")
    before = step("before-update", "render aside; refuse a kind switch, a swapped answer, `..`")
    before.add_argument("--destination", type=Path, default=Path(), help="as copier was given it")
    before.add_argument("--data", type=json_object, help="the --data answers, as JSON")
    before.add_argument("--defaults", action=argparse.BooleanOptionalAction, default=True)
    before.add_argument("--skip-tasks", action=argparse.BooleanOptionalAction, default=False)
    kind = step("check-kind", "undo, inside the project, an update that switched the kind")
    kind.add_argument("kind")
    after = step("after-update", "carry over, keep aside, list conflicts, relock")
    after.add_argument(
        "--shell-less-base", default="", help="the base image, if it has no shell (distroless)"
    )
    rename = step("rename-answer", "carry an answer to a renamed question")
    rename.add_argument("old")
    rename.add_argument("new")
    args = parser.parse_args(argv)
    # Ctrl-C, and a cancelled CI job's or `kill`'s SIGTERM: one line each, nothing left behind.
    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)

    if args.step == "after-copy":
        after_copy(
            args.image_tag, args.run, args.docker_build, args.publish, args.answers_file, args.data
        )
    elif args.step == "before-update":
        return before_update(
            args.answers_file, args.destination, args.data, args.defaults, args.skip_tasks
        )
    elif args.step == "check-kind":
        return check_kind(args.answers_file, args.kind)
    elif args.step == "after-update":
        after_update(args.answers_file, args.shell_less_base)
    else:
        rename_answer(args.answers_file, args.old, args.new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
