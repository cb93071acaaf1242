"""Saying things, and running commands with a time bound: never a shell, never a hang."""

from __future__ import annotations

import os
import shlex
import signal
import stat
import subprocess
import sys
import threading
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


STOPPING = (signal.SIGINT, signal.SIGTERM)


# Every command started and not yet waited for: a Ctrl-C stops each of them, whoever holds it.
RUNNING: set[subprocess.Popen[bytes]] = set()


class Interrupted(Exception):
    """Ctrl-C or SIGTERM during a step: the steps not done are reported, the project is kept."""


def interrupted(signum: int, frame: object) -> None:
    """SIGINT or SIGTERM as an exception of our own, once every running command is killed:
    at once (for KeyboardInterrupt subprocess would first wait, and copier kills this task
    0.25 s after Ctrl-C), so the kept-project message is out before copier stops."""
    for process in list(RUNNING):
        stop(process)
    raise Interrupted


def stop(process: subprocess.Popen[bytes]) -> None:
    """Kill a command, close its pipes and reap it (bounded: a process stuck in the kernel is
    left to it)."""
    process.kill()
    for pipe in (process.stdout, process.stderr):
        if pipe:
            pipe.close()
    try:
        process.wait(timeout=PROBE_TIMEOUT)
    except subprocess.TimeoutExpired:
        return
    RUNNING.discard(process)


def start(command: list[str], stdout: int | None, stderr: int | None) -> subprocess.Popen[bytes]:
    """Start a command (it reads nothing from us) that a Ctrl-C can never leave behind. A
    signal that arrives while it starts is held until the command is in RUNNING, then
    delivered: raised inside Popen, it would leave a child no one holds, which may itself
    have lost the signal before its exec."""
    held: list[int] = []
    previous = {}
    if threading.current_thread() is threading.main_thread():  # where signal handlers live
        previous = {
            signum: signal.signal(signum, lambda s, _: held.append(s)) for signum in STOPPING
        }
    try:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr)
        RUNNING.add(process)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    for caught in held[:1]:
        signal.raise_signal(caught)  # to the handler now in place: ours kills the command
    return process


def waited(process: subprocess.Popen[bytes], timeout: float) -> tuple[int, bytes, bytes]:
    """Wait for a started command to end, bounded: its exit code, and its stdout and stderr
    as captured. Out of time, or interrupted, it is killed and reaped before the exception
    goes on (never an unbounded wait, as Popen's context manager would make)."""
    try:
        out, err = process.communicate(timeout=timeout)
    except BaseException:
        stop(process)
        raise
    RUNNING.discard(process)
    return process.returncode, out or b"", err or b""


def completed(
    command: list[str], timeout: float, stdout: int | None, stderr: int | None
) -> tuple[int, bytes, bytes]:
    """Run a command to its end, bounded (waited())."""
    return waited(start(command, stdout, stderr), timeout)


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
        code, _, err = completed(command, timeout, None, subprocess.PIPE if capture else None)
    except subprocess.TimeoutExpired:
        STALLED.add(command[0])
        say(f"`{shlex.join(command)}` did not finish within {timeout:.0f} s and was stopped.")
        return 124, ""
    except OSError as error:  # found on PATH a moment ago, yet not executable
        say(str(error))
        return 127, ""
    stderr = os.fsdecode(err)
    if stderr:
        print(stderr, end="", file=sys.stderr, flush=True)
    return code, stderr


def probe(command: list[str], timeout: float = PROBE_TIMEOUT) -> tuple[int, bytes]:
    """A short command, bounded, never shown: its exit code and raw stdout. Stopped at its
    bound (now, or an earlier command of the same executable), it is KILLED: no exit code a
    command could give, so no caller mistakes it for an answer."""
    if command[0] in STALLED:
        return KILLED, b""
    try:
        code, out, _ = completed(command, timeout, subprocess.PIPE, subprocess.PIPE)
    except subprocess.TimeoutExpired:
        STALLED.add(command[0])
        return KILLED, b""
    except OSError:
        return 1, b""
    return code, out


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
