"""Update time, before copier writes: render aside, refuse what the update must not do."""

from __future__ import annotations

import os
import re
import shlex
import shutil
from pathlib import Path

from tasklib.answers import (
    TEMPLATE,
    accept_line,
    dropped_answers,
    explain_drops,
    kind_refusal,
    parse_answers,
    questions,
    read_answers,
    recorded_kind,
    refused_because,
    renamed_to,
    swapped_answers,
    unknown_data,
)
from tasklib.git import committed, drop_state, listed, state_dir
from tasklib.processes import Interrupted, read_regular, say
from tasklib.render import copier_copy, finished
from tasklib.uv import MEMBERSHIP_FILE, member_of


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
    """Render the new version aside, and refuse what the update must not do (exit 1, nothing
    written). Interrupted at any point, the same: nothing of the update is left."""
    state = state_dir()
    if state is None:
        return 0
    shutil.rmtree(state, ignore_errors=True)
    state.mkdir(parents=True)
    old_answers = committed(answers_file) or b""
    current = answers_file.read_bytes() if answers_file.is_file() else old_answers
    try:
        return check_update(
            state, answers_file, destination, data, defaults, skip_tasks, old_answers, current
        )
    except Interrupted:
        say("interrupted: the update was stopped before anything was written.")
        refuse(state, answers_file, old_answers, current)
        return 1


def check_update(
    state: Path,
    answers_file: Path,
    destination: Path,
    data: dict[str, object] | None,
    defaults: bool,
    skip_tasks: bool,
    old_answers: bytes,
    current: bytes,
) -> int:
    """before_update's checks, in order: the answers committed (old_answers) and as this
    update reads them (current, after a migration's rename)."""
    template = TEMPLATE  # copier's checkout of the new version
    recorded = parse_answers(os.fsdecode(old_answers))
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
    code, last = finished(
        copier_copy(str(template), "HEAD", state / "new" / name, current, answers_file, data or {})
    )
    if code != 0:
        if not (data or defaults):
            # Copier asks every question next, and may be given answers it takes.
            drop_state(state)
            return 0
        # Copier would refuse the same answers next (it checks --data before any prompt),
        # with a traceback, and leave a migration's renamed answer in the answers file.
        reason = re.sub(r"^\w+Error: ", "", last) or "copier could not render the new version"
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
    if skip_tasks:
        drop_state(state)
    else:
        # Asked now: the merge can leave pyproject.toml in conflict, which uv cannot read.
        root = member_of()
        (state / MEMBERSHIP_FILE).write_bytes(os.fsencode(root) if root else b"")
    return 0
