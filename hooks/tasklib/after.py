"""Update time, after copier's merge: carry over, keep aside, list conflicts, relock."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

from tasklib.answers import (
    TEMPLATE,
    committed_answers,
    hidden_answers,
    kind_refusal,
    parse_answers,
    questions,
    read_answers,
    recorded_kind,
)
from tasklib.git import committed, conflicted_files, drop_state, git, state_dir, tracked_paths
from tasklib.processes import (
    GIT_TIMEOUT,
    PREFIX,
    READ_LIMIT,
    Interrupted,
    aligned,
    probe,
    read_regular,
    say,
    warn,
)
from tasklib.render import copier_copy, finished
from tasklib.uv import (
    MEMBERSHIP,
    MEMBERSHIP_FILE,
    leave_workspace,
    lock,
    lock_steps,
    locked_packages,
)


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
    try:
        undo_update()
    except Interrupted:
        say(
            "interrupted while the update was being undone (the project kind cannot change on "
            "update). To finish undoing it, run:",
            f"    cd {shlex.quote(str(Path.cwd()))}",
            "    git restore --source=HEAD --staged --worktree -- .",
            "    git clean -f -d -- .",
        )
        return 1
    finally:
        if state := state_dir():
            drop_state(state)
    kind_refusal(
        recorded_kind(recorded),
        kind,
        "The update was undone inside the project (its files are back at their commit; "
        "nothing outside it was touched).",
    )
    return 1


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


def removed_files() -> list[str]:
    """The files the update removed: committed, and no longer in the work tree."""
    return [name for name in tracked_paths() if not os.path.lexists(name)]


def old_render(state: Path, answers_file: Path) -> Path | None:
    """The project's own template version rendered aside with its committed answers, to tell
    the owner's edits from the template's text; None, said why, when it cannot be."""
    answers = committed(answers_file) or b""
    recorded = parse_answers(os.fsdecode(answers))
    source, version = recorded.get("_src_path"), recorded.get("_commit")
    if not (source and version):
        return None
    old = state / "old" / Path.cwd().name
    code, last = finished(copier_copy(source, version, old, answers, answers_file, {}))
    if code != 0:
        say(
            f"the project's template version could not be rendered for comparison ({last}): "
            "every file the update removed is kept aside."
        )
        return None
    return old


def carry_and_keep(vanished: list[str], old: Path | None) -> tuple[list[str], list[str]]:
    """Of the files the update removed, those the owner had edited (or all, without the old
    render to compare with): a renamed package's module carried to its new name, merged
    with the template's changes; everything else kept beside it (`<file>.kept`)."""
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
    removed, report conflicts, relock unless unsafe, and name the locked packages it dropped.
    Interrupted, say what was not done; the state of the update goes in every case."""
    state = state_dir()
    try:
        finish_update(answers_file, shell_less_base, state)
    except Interrupted:
        warn(
            "interrupted before the update was finished: uv.lock was not updated, and a file "
            "the update removed that you had edited may not be kept aside (git still holds "
            "yours: `git diff --stat HEAD` lists what the update changed).",
            *lock_steps(),
        )
    finally:
        if state:
            drop_state(state)


def finish_update(answers_file: Path, shell_less_base: str, state: Path | None) -> None:
    """after_update's steps, in order (state: the update's, from before-update, if any)."""
    now = read_answers(answers_file) if answers_file.is_file() else {}
    asked = questions(TEMPLATE)
    for key, value in hidden_answers(committed_answers(answers_file), now, asked).items():
        say(
            f"{key} is not asked with your new answers, so copier drops its recorded answer "
            f"{shlex.quote(value)}: if a later update asks it again, it offers its default; "
            f"keep yours then with --data {key}={shlex.quote(value)}"
        )
    vanished = removed_files()
    old = None
    if state and (vanished or shell_less_base):  # only then is the old version compared
        old = old_render(state, answers_file)
    carried, kept = carry_and_keep(vanished, old)
    unrunnable = (
        owner_lines_without_a_shell(old / "Dockerfile", shell_less_base)
        if shell_less_base and old
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
    next_steps(str(now.get("_commit", "")))


def next_steps(version: str) -> None:
    """What to do after an update that merged and relocked cleanly: review, test, commit this
    folder only (in a monorepo's subfolder too), as the copy's own next steps do."""
    message = shlex.quote(f"Update from copier-uv-docker {version}".strip())
    review = aligned([
        ("git add . && git diff --staged -- .", "review what changed, new files included"),
        ("uv run pytest", "test it"),
    ])  # fmt: skip
    steps = [*review, f"git commit -m {message} -- ."]
    print(
        f"\nYour project is updated to {version or 'the new version'}. Next steps:\n"
        + "".join(f"  {line}\n" for line in steps),
        file=sys.stderr,
        flush=True,
    )
