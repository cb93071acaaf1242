"""What git says about the project: its files, its commits, and the update's state folder."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
from pathlib import Path

from tasklib.processes import GIT_TIMEOUT, PREFIX, READ_LIMIT, line_of, probe, quiet, read_regular

CONFLICT = re.compile(rb"^(<{7} |>{7} )", re.M)


def git(*args: str) -> tuple[int, bytes]:
    """git in the current folder (the project), bounded; paths printed as they are."""
    return probe(["git", "-c", "core.quotePath=false", *args], GIT_TIMEOUT)


def inside_a_repository() -> bool:
    return quiet(["git", "rev-parse", "--is-inside-work-tree"])[1] == "true"


def project_prefix() -> str:
    """This project's folder relative to its repository's root: "" or "some/folder/"."""
    code, out = git("rev-parse", "--show-prefix")
    return line_of(out) if code == 0 else ""


def committed(path: Path) -> bytes | None:
    """A file of this project as committed (HEAD), whichever folder of the repository the
    project is in; None if it is not in HEAD."""
    code, out = git("cat-file", "blob", f"HEAD:{project_prefix()}{path.as_posix()}")
    return out if code == 0 else None


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
