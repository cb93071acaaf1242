"""Saying things, and running commands with a time bound: never a shell, never a hang."""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

PREFIX = "copier-uv-docker"


# Upper bounds, in seconds: generous for real work, finite for a stalled network or engine.
LOCK_TIMEOUT = 600


PROBE_TIMEOUT = 15


BUILD_TIMEOUT = 3600


RENDER_TIMEOUT = 300  # one render of the template by copier, cloning it first if remote


GIT_TIMEOUT = 60


READ_LIMIT = 1_000_000  # bytes of a file searched for conflict markers


# Executables that ran out of time once: asked again, each would wait out its bound again (a
# Docker engine that never answers stalls every command of some clients, `--version` too).
STALLED: set[str] = set()
KILLED = -9  # what subprocess reports for a command killed by SIGKILL, as at its bound


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
    if command[0] in STALLED:
        say(
            f"`{shlex.join(command)}` was not run: an earlier command of {command[0]} did not "
            "finish within its bound."
        )
        return 124, ""
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
        STALLED.add(command[0])
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
    """A short command, bounded, never shown: its exit code and raw stdout. Stopped at its
    bound (now, or an earlier command of the same executable), it is KILLED: no exit code a
    command could give, so no caller mistakes it for an answer."""
    if command[0] in STALLED:
        return KILLED, b""
    try:
        done = subprocess.run(
            command, capture_output=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        STALLED.add(command[0])
        return KILLED, b""
    except OSError:
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


def aligned(steps: Sequence[tuple[str, str]]) -> list[str]:
    """A block of commands, each comment two spaces after the block's longest command (the
    rule the generated README's command blocks follow)."""
    width = max((len(command) for command, _ in steps), default=0)
    return [
        f"{command.ljust(width)}  # {comment}" if comment else command for command, comment in steps
    ]


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
