"""At the prompts, a person can answer only what --data accepts: a choice that the earlier
answers rule out is shown disabled, with the very reason --data is refused with.

Copier runs a question's validator on typed answers only, never on a select list: every
cross-question rule of a select question is a validator on the choice it rules out
(copier.yml, includes/refusals.jinja). The rules are read from copier.yml, and the answers that
provoke each are found by rendering its validator over the earlier questions' choices: a new
rule is tested here without a line of this file changing.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from helpers import COPIER_YML, PYTHON_CHOICES, in_a_terminal, screen_text

from lab.project import source
from lab.template import (
    SELECTS,
    choice_refusal,
    choice_refusals,
    choices,
    computed,
    is_asked,
    labels,
)

# Earlier answers a rule may depend on: every Python, and names a package cannot take.
CANDIDATES: list[dict[str, str]] = [
    *({"python_version": version} for version in PYTHON_CHOICES),
    *({"project_name": name} for name in ("uv", "json", "class")),
]
QUESTIONS = [name for name in COPIER_YML if not name.startswith("_")]
DOWN, UP, ENTER, CLEAR_LINE = "\x1b[B", "\x1b[A", "\r", "\x15"


def rules() -> list[tuple[str, str, dict[str, str] | None, str]]:
    """Each choice a validator can disable: (question, value, earlier answers that disable it
    or None when no candidate does, the reason)."""
    found: list[tuple[str, str, dict[str, str] | None, str]] = []
    for question in sorted(SELECTS, key=QUESTIONS.index):
        for value in choice_refusals(question):
            for answers in CANDIDATES:
                reason = choice_refusal(question, value, **answers)
                if reason:
                    found.append((question, value, answers, reason))
                    break
            else:
                found.append((question, value, None, ""))
    return found


def keys_for(question: str, answer: str) -> tuple[str, str]:
    """What a person types at this question's prompt to answer it: (the prompt's text, keys)."""
    spec = COPIER_YML[question]
    shown = str(spec["help"]).split("\n")[0][:40]
    if "choices" not in spec:
        return shown, CLEAR_LINE + answer + ENTER
    values = choices(question)
    moves = values.index(answer) - values.index(spec["default"])  # from the default
    return shown, (DOWN * moves if moves >= 0 else UP * -moves) + ENTER


def asked_before(question: str, answers: dict[str, str]) -> list[str]:
    """The questions Copier asks before this one, for these answers."""
    return [name for name in QUESTIONS[: QUESTIONS.index(question)] if is_asked(name, **answers)]


def test_every_rule_but_one_that_nothing_triggers_today_is_provoked_below():
    """A new rule that no candidate answer provokes fails here: add the answer that does to
    CANDIDATES. python-slim's image is published for every Python today."""
    untested = {(question, value) for question, value, answers, _ in rules() if answers is None}
    assert untested == {("base_image", "python-slim")}


@pytest.mark.parametrize(
    ("question", "value", "answers", "reason"), [rule for rule in rules() if rule[2] is not None]
)
def test_a_choice_the_earlier_answers_rule_out_is_shown_disabled_with_the_data_reason(
    tmp_path: Path, question: str, value: str, answers: dict[str, str], reason: str
):
    earlier = asked_before(question, answers)
    defaults = computed(**answers)
    # Every earlier question answered by --data but those the rule reads: those at the prompt.
    data = {name: defaults[name] for name in earlier if name not in answers}
    data_file = tmp_path / "data.json"
    data_file.write_text(json.dumps(data))
    destination = tmp_path / "out"
    command = [
        sys.executable, "-m", "copier", "copy", "--trust", "--skip-tasks",
        "--data-file", str(data_file), str(source()), str(destination),
    ]  # fmt: skip
    keys = [keys_for(name, answers[name]) for name in earlier if name in answers]
    shown = screen_text(in_a_terminal(command, tmp_path, until=reason, keys=keys, timeout=120))
    lines = [line for line in shown.splitlines() if reason in line]
    assert lines, shown
    assert labels(question)[value] in lines[0], lines[0]
    assert not destination.exists()
    # --data is refused with the same reason, in one line.
    refused = computed_refusal(question, value, answers)
    assert refused == reason


def computed_refusal(question: str, value: str, answers: dict[str, str]) -> str:
    from helpers import render

    with pytest.raises(ValueError) as error:
        render(Path("/nonexistent-never-written") / "p", **answers, **{question: value})
    return str(error.value).split(f"Invalid choice for '{question}': ", 1)[1]
