"""uv: finding it, the workspace a project may be a member of, and locking."""

from __future__ import annotations

import contextlib
import importlib.util
import re
import shutil
import sys
from pathlib import Path

from tasklib.processes import LOCK_TIMEOUT, quiet, run, warn

LOCK = "uv lock"  # what the user is told to run when locking could not be done here


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
