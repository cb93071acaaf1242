"""README.md says what the code does: its commands run, its tables list what exists."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import yaml
from helpers import COPIER_YML, ROOT, run_ok

README = (ROOT / "README.md").read_text()
# The README and the pages it links to, which the tests keep true alike.
DOCS = README + "".join(page.read_text() for page in sorted((ROOT / "docs").glob("*.md")))


def fenced_commands(text: str = README) -> list[str]:
    """The command lines of a page's sh blocks, without their comments."""
    blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
    return [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]


def ci_runs() -> list[list[str]]:
    """The test commands .ci/run runs, as argument lists (environment assignments first)."""
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    return [shlex.split(line) for line in lines if re.match(r"^(\w+=\S+ )*uv run pytest", line)]


def test_readme_test_commands_are_the_ones_ci_runs():
    """The README's full command, word for word, with only pytest's --durations added; its
    fast command is the same minus the engine tests; the second pass is the one docs/ gives."""
    commands = fenced_commands()
    assert 'uv run pytest -m "not docker"' in commands and "uv run pytest" in commands
    full, second = ci_runs()
    assert full[:3] == ["uv", "run", "pytest"]
    assert all(re.fullmatch(r"--durations=\d+", arg) for arg in full[3:]), full
    assert second[0] == "COPIER_UV_DOCKER_ENGINE=sid" and "engines" in second
    documented = fenced_commands((ROOT / "docs" / "testing.md").read_text())
    assert shlex.join([a for a in second if not a.startswith("--durations=")]) in documented


def test_readme_gives_how_long_each_test_command_takes():
    section = README[README.index("## The tests") :]
    lines = [line for line in section.splitlines() if line.startswith("uv run pytest")]
    assert len(lines) == 2
    for line in lines:
        assert re.search(r"\(about \d+ min\)$", line), line


def test_readme_is_read_in_ten_minutes_and_every_page_it_links_exists():
    assert len(README.split()) <= 2500
    for link in re.findall(r"\]\((docs/[^)#]+)", README):
        assert (ROOT / link).is_file(), link
    pages = {p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").glob("*.md")}
    assert pages <= set(re.findall(r"\]\((docs/[^)#]+)", README)), "a page the README never links"


def test_nothing_shipped_leans_on_a_document_users_do_not_have():
    """The team's guide is not the users': prompts, generated files and docs stand alone."""
    shipped = [ROOT / "copier.yml", ROOT / "README.md", *(ROOT / "template").rglob("*")]
    for path in (p for p in shipped if p.is_file()):
        assert not re.search(r"\bthe guide\b|guide-docker", path.read_text(), re.I), path


def test_readme_lists_every_question_of_copier_yml():
    questions = [
        name
        for name, spec in COPIER_YML.items()
        if not name.startswith("_") and spec.get("when") is not False
    ]
    table = README[README.index("## The questions") : README.index("## What you get")]
    missing = [name for name in questions if f"`{name}`" not in table]
    assert not missing


def test_readme_generate_command_works_as_written_with_defaults(tmp_path: Path):
    command = next(c for c in fenced_commands() if c.startswith("uvx copier copy --trust "))
    assert command == 'uvx copier copy --trust "$PWD" ../my-app'
    destination = tmp_path / "my-app"
    run_ok(
        ["uvx", "copier", "copy", "--trust", "--defaults", str(ROOT), str(destination)], cwd=ROOT
    )
    run_ok(["uv", "lock", "--check"], cwd=destination)
    ran = run_ok(["uv", "run", "python", "main.py"], cwd=destination)
    assert ran.stdout.startswith("Hello from my-app!")
    # `copier update` finds the template again from wherever the project is.
    answers = yaml.safe_load((destination / ".copier-answers.yml").read_text())
    assert answers["_src_path"] == str(ROOT)


def test_the_standins_command_names_the_pinned_uv_version():
    from helpers import UV_VERSION, image

    testing = (ROOT / "docs" / "testing.md").read_text()
    assert f"--uv-version {UV_VERSION}" in testing
    assert image("uv_image") in README


def test_readme_shows_the_hooks_real_message_when_uv_is_missing(tmp_path: Path):
    from helpers import copier, copy_args, path_without

    project = tmp_path / "my-app"
    env = {**os.environ, "PATH": str(path_without(tmp_path, "uv", "uvx"))}
    result = copier(*copy_args(project), env=env)
    message = result.stderr[result.stderr.index("copier-uv-docker: uv was not found") :]
    message = message[: message.index("    uv lock\n") + len("    uv lock\n")]
    assert message.replace(str(project), "/home/me/my-app") in DOCS
