"""The one way the tests make projects: render in-process, run the real copier, run commands in
a project; and the template's facts from the laboratory (lab/), under the names the tests use.

Importing it prepares the machine's environment (lab/machine.py) before any test runs copier
or starts the Docker engine.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from lab import machine
from lab.engine import sid_tree
from lab.paths import ROOT
from lab.project import copy_args, long_running, plain_copy
from lab.project import source as plain_source
from lab.pythons import lockable_pythons
from lab.record import published as is_published
from lab.record import record
from lab.template import (
    BASE_IMAGES,
    COPIER_YML,
    DEBIAN,
    DEFAULT_PYTHON,
    KINDS,
    PYTHON_CHOICES,
    UV_VERSION,
    VARIANTS,
    accepted_pair,
    computed,
    image,
    python_for,
    with_python,
)

# Re-exported from the lab, under the names the test files import.
__all__ = [
    "BASE_IMAGES",
    "COPIER_YML",
    "DEBIAN",
    "DEFAULT_PYTHON",
    "KINDS",
    "PYTHON_CHOICES",
    "UV_VERSION",
    "VARIANTS",
    "computed",
    "copy_args",
    "image",
    "is_published",
    "lockable_pythons",
    "long_running",
    "python_for",
]

machine.prepare()

# What the registries publish: {repository: {"tags": [...], "source": ..., "read": ...}}.
PUBLISHED: dict[str, dict[str, Any]] = record()


def slim_image(python: str) -> str:
    """docker-library's slim image of this Python, as copier.yml names it."""
    return image("slim_image", python_version=python)


def uv_python_image(python: str) -> str:
    """uv's image with this Python, as copier.yml names it."""
    return image("uv_python_image", python_version=python)


# Whether this base image exists for this Python (the validator refuses it otherwise).
base_image_published = accepted_pair


def _chosen(variable: str, default: list[str]) -> list[str]:
    """A subset named in the environment (space- or comma-separated), else the default."""
    named = os.environ.get(variable, "").replace(",", " ").split()
    return [value for value in default if value in named] if named else default


# The pairs whose images the image tests build: all of them, unless a CI job takes a share
# (.github/workflows/tests.yml runs one job per pair).
IMAGE_VARIANTS: list[tuple[str, str]] = [
    (b, v)
    for b, v in VARIANTS
    if b in _chosen("COPIER_UV_DOCKER_IMAGE_BASES", BASE_IMAGES)
    and v in _chosen("COPIER_UV_DOCKER_IMAGE_PYTHONS", PYTHON_CHOICES)
]


def one_each(bases: list[str], kinds: list[str]) -> list[tuple[str, str]]:
    """(base_image, kind) pairs that take every base image and every kind at least once, for a
    client whose work depends on each alone: on the base image through the Dockerfile's stages,
    on the kind through the project's files, which are the same on every base image
    (test_tooling.py's test_the_python_files_and_their_settings_do_not_depend_on_the_base_image)."""
    count = max(len(bases), len(kinds))
    return [(bases[i % len(bases)], kinds[i % len(kinds)]) for i in range(count)]


def engines_too(values: list[Any], *chosen: Any) -> list[Any]:
    """Parameters of a test, the chosen ones marked `engines`: .ci/run runs those again on the
    second engine (what differs between engines: every base image and kind once, and what the
    client's version decides), the others once."""
    import pytest

    return [
        pytest.param(*(v if isinstance(v, tuple) else (v,)), marks=pytest.mark.engines)
        if v in chosen
        else v
        for v in values
    ]


def wait_for(what: str, probe: Callable[[], bool], seconds: float = 120) -> None:
    """Poll until probe() is true; fail the test, naming what never came, after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if probe():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}")


def stages_of(project: Path) -> list[tuple[str, str]]:
    """Each stage of a project's Dockerfile, in order: what it starts from, and its name ("" for
    an unnamed one)."""
    text = (project / "Dockerfile").read_text()
    return re.findall(r"^FROM (\S+)(?: AS (\S+))?", text, re.M)


def base_images_of(project: Path) -> list[str]:
    """The images a project's Dockerfile starts its stages from, in order (not its stages)."""
    stages = stages_of(project)
    names = {name for _, name in stages}
    return [start for start, _ in stages if start not in names]


def shipped_base(project: Path) -> str:
    """The image a project's final stage is built on, through the stages it starts from."""
    stages = stages_of(project)
    starts = {name: start for start, name in stages if name}
    image = stages[-1][0]
    while image in starts:
        image = starts[image]
    return image


def stand_in_note(docker: Any, project: Path) -> str:
    """Whether a project's image was built on local stand-ins, for failure messages."""
    used = sorted(set(base_images_of(project)) & docker.standins)
    return f"(built on local stand-ins: {', '.join(used)})" if used else "(official base images)"


REQUIRE = "COPIER_UV_DOCKER_REQUIRE"


CI_RUN = ROOT / ".ci" / "run"
# How a reason names the install that provides what is missing: Debian's package, npm's folder,
# PyPI's package (which the dev environment's uv.lock holds), a tool uvx keeps in uv's cache.
INSTALLS = re.compile(
    r"apt-get install ([\w.+-]+(?: [\w.+-]+)*)|npm ci --prefix (\S+)|PyPI ([\w.-]+)"
    r"|uvx --from ([\w.=-]+)"
)


def ci_step(reason: str) -> str:
    """Which line of .ci/run installs what this reason says is missing, for a CI failure."""
    lines = CI_RUN.read_text().splitlines()
    wanted = [
        (word, kind)
        for match in INSTALLS.finditer(reason)
        for kind, words in zip(("apt", "npm", "pypi", "uvx"), match.groups(), strict=True)
        if words
        for word in words.split()
    ]
    if not wanted:
        return ".ci/run installs nothing this reason names"
    steps = []
    for word, kind in wanted:
        if kind == "pypi":
            steps.append(f"{word} comes with the dev environment (uv.lock), which `uv run` syncs")
            continue
        found = [
            f".ci/run line {number}: `{line.strip()}`"
            for number, line in enumerate(lines, 1)
            if not line.lstrip().startswith("#")
            and {"apt": "apt-get install", "npm": "npm", "uvx": "uvx --from"}[kind] in line
            and word in line.split()
        ]
        steps.append(found[0] if found else f"no line of .ci/run installs {word}")
    return "; ".join(steps)


def missing(reason: str) -> None:
    """Skip for something this machine lacks, or fail where nothing may be missing (CI), naming
    the step of .ci/run that installs it."""
    import pytest

    if os.environ.get(REQUIRE):
        pytest.fail(f"{REQUIRE} is set, but {reason} ({ci_step(reason)})", pytrace=False)
    pytest.skip(reason)


def require_python(version: str) -> None:
    if version not in lockable_pythons():
        missing(
            f"uv finds no Python {version} here (`python -m lab pythons` makes one, as root,"
            " with Debian's apt-get install debootstrap patchelf)"
        )


HOOK = ROOT / "hooks" / "tasks.py"


def docker_clients() -> dict[str, Path]:
    """Real Docker clients, by what they are: Debian 12's 20.10 (this machine's, when it has
    one) and Debian sid's, unpacked from its archive."""
    clients = {"debian-12": Path("/usr/bin/docker")} if Path("/usr/bin/docker").exists() else {}
    return {**clients, "sid": sid_tree() / "usr/bin/docker"}


def exported(variables: dict[str, str]) -> str:
    """A CI job's environment (GitHub's job env, GitLab's variables), as shell lines that give
    it to a step's commands the way the runner does."""
    return "".join(f"export {key}={shlex.quote(value)}\n" for key, value in variables.items())


HOOK_PARTS = ROOT / "hooks" / "tasklib"


def hook(part: str) -> ModuleType:
    """One part of the hook (hooks/tasklib/<part>.py) as a module, to call one of its
    functions directly (it is stdlib-only, and does nothing on import), imported as copier's
    run of hooks/tasks.py imports it: from the hooks folder."""
    folder = str(HOOK_PARTS.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return importlib.import_module(f"tasklib.{part}")


def copier(
    *args: str, env: dict[str, str] | None = None, timeout: float | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real copier command line, as a user would, with copier's interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "copier", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=timeout,
    )


ANSI = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07]*\x07|[()][0-9A-B]|[=>78])")


def screen_text(shown: str) -> str:
    """What a terminal showed, without its escape sequences (colours, cursor moves)."""
    return ANSI.sub("", shown)


def in_a_terminal(
    command: list[str],
    cwd: Path,
    until: str,
    timeout: float = 180,
    keys: Sequence[tuple[str, str]] = (),
) -> str:
    """Run a command in a pseudo-terminal, as at a user's keyboard: at each prompt that shows
    its text, type its keys (`keys`: (text, keys) in order); then, once it shows `until`, press
    Ctrl-C. What the terminal showed (copier's prompts need a terminal)."""
    import fcntl
    import pty
    import select
    import struct
    import termios

    leader, follower = pty.openpty()
    # Wide enough that a choice and the reason it is disabled stay on one line.
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 400, 0, 0))
    process = subprocess.Popen(
        command, cwd=cwd, stdin=follower, stdout=follower, stderr=follower,
        env={**os.environ, "TERM": "xterm"}, start_new_session=True,
    )  # fmt: skip
    os.close(follower)
    shown = b""
    pending = list(keys)
    answered = 0  # where the screen stood when the last keys were typed
    deadline = time.monotonic() + timeout
    try:
        while until.encode() not in shown[answered:] and time.monotonic() < deadline:
            if pending and pending[0][0] in screen_text(shown[answered:].decode(errors="replace")):
                answered = len(shown)
                os.write(leader, pending.pop(0)[1].encode())
                continue
            if select.select([leader], [], [], 1)[0]:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # the command ended and closed the terminal
                    break
                if not chunk:
                    break
                shown += chunk
        os.write(leader, b"\x03")
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(leader)
    return shown.decode(errors="replace")


def run_ok(command: list[str], cwd: Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run a command in a generated project and fail the test with its output if it fails."""
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]
    assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"
    return done


def free_port() -> int:
    """A port nothing on this machine listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def health_answers(port: int) -> bool:
    """Whether a generated service answers /health on this host's port."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def path_without(tmp_path: Path, *missing: str) -> Path:
    """A folder of links to every command on PATH except these: a PATH without uv, docker..."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for directory in os.environ["PATH"].split(os.pathsep):
        for command in Path(directory).glob("*") if Path(directory).is_dir() else ():
            link = folder / command.name
            if command.name not in missing and not link.exists() and os.access(command, os.X_OK):
                link.symlink_to(command)
    return folder


def copy_working_tree(destination: Path) -> Path:
    """Copy this repository's files as git sees them (tracked and untracked, not ignored) into
    destination: the template as a test's throwaway git copy starts from."""
    return plain_copy(destination)


def render(destination: Path, source: Path | None = None, **answers: object) -> Path:
    """Render the template in-process with copier's API, tasks skipped: the fast path, from the
    run's plain copy of this working tree unless a source is given. A base image of one Python
    gets that Python unless the test names one (lab.template.with_python)."""
    import copier as copier_api

    copier_api.run_copy(
        str(source or plain_source()),
        str(destination),
        data=with_python(answers),
        defaults=True,
        unsafe=True,
        skip_tasks=True,
        quiet=True,
    )
    return destination


def lock_advice_outside_the_workspace(stderr: str) -> list[str]:
    """The hook's messages that say to run `uv lock` without saying to leave the workspace
    first: in a workspace's member, that `uv lock` would lock the workspace instead."""
    messages = re.split(r"^copier-uv-docker: ", stderr, flags=re.M)
    exclude = "add this folder to `exclude` under [tool.uv.workspace]"
    return [text for text in messages if "    uv lock\n" in text and exclude not in text]


def ci_job_lines(project: Path, ci: str, github: tuple[str, str], gitlab: str) -> list[str]:
    """A CI job's commands, as its file gives them: the `run:` steps of a GitHub workflow's job
    (github: the workflow's file name and the job), or the `script:` of a GitLab job."""
    import yaml

    if ci == "github":
        workflow = yaml.safe_load((project / ".github/workflows" / github[0]).read_text())
        return [step["run"] for step in workflow["jobs"][github[1]]["steps"] if "run" in step]
    return yaml.safe_load((project / ".gitlab-ci.yml").read_text())[gitlab]["script"]


def run_ci_lines(
    lines: list[str], project: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """A job's lines in one script, as both runners' bash runs them (`-e -o pipefail`), in the
    project, with the environment given over this process's."""
    return subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", "\n".join(lines)],
        cwd=project, env={**os.environ, **env}, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


SEEN_BY_THE_TEMPLATE = "seen-by-the-template.txt"


def record_what_the_template_sees(template: Path) -> None:
    """Give a template's copier.yml a first migration that writes the environment the
    template's code runs in to SEEN_BY_THE_TEMPLATE, a file the update then commits."""
    probe = (
        f'  - command: ["sh", "-c", "env > {SEEN_BY_THE_TEMPLATE}"]\n'
        "    when: \"{{ _stage == 'after' }}\"\n"
    )
    config = template / "copier.yml"
    config.write_text(config.read_text().replace("_migrations:\n", "_migrations:\n" + probe, 1))
