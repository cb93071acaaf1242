"""The answers file, the questions copier.yml asks, and what an update does to answers."""

from __future__ import annotations

import difflib
import json
import os
import re
import shlex
from collections.abc import Sequence
from pathlib import Path

from tasklib.git import committed
from tasklib.processes import say

# The template version this hook belongs to: copier's checkout of it (hooks/tasklib/ is in it).
TEMPLATE = Path(__file__).resolve().parents[2]
ANSWERS_FILE = Path(".copier-answers.yml")  # the template's `_answers_file`


def update_command(answers_file: Path) -> str:
    """`copier update` as this project needs it: copier finds only its default answers file."""
    option = [] if answers_file == ANSWERS_FILE else ["--answers-file", str(answers_file)]
    return shlex.join(["uvx", "copier", "update", "--trust", *option])


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


def committed_answers(answers_file: Path) -> dict[str, str]:
    text = committed(answers_file)
    return parse_answers(os.fsdecode(text)) if text is not None else {}


def recorded_kind(answers: dict[str, str]) -> str:
    return answers.get("project_kind", "script")  # projects from before kinds are scripts


def kind_refusal(recorded: str, kind: str, what_happened: str) -> None:
    say(
        f"the project kind cannot change on update ({recorded} to {kind}): the kinds' main "
        f"files differ. {what_happened} Generate a new project of that kind and move your "
        "code into it."
    )


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


def rename_answer(answers_file: Path, old: str, new: str) -> None:
    """Rename a top-level `old: value` line of the answers file, unless `new` is there already.

    Run as a versioned "before" migration, so that copier reads the renamed answer."""
    text = answers_file.read_text(encoding="utf-8")
    if not re.search(rf"^{re.escape(new)}:", text, flags=re.M):
        text = re.sub(rf"^{re.escape(old)}:", f"{new}:", text, count=1, flags=re.M)
        answers_file.write_text(text, encoding="utf-8")
