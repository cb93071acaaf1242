"""Answers: bad ones are refused before anything is written, free text stays data."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import yaml
from helpers import ROOT, copier, copy_args, render

BAD_NAMES = {
    "capitals": "MyApp",
    "space": "my app",
    "leading digit": "1app",
    "leading dash": "-app",
    "trailing dash": "app-",
    "double dash": "my--app",
    "underscore": "my_app",
    "dot": "my.app",
    "non-ASCII": "café",
    "shell command substitution": "$(touch pwned)",
    "shell separator": "app;rm -rf ~",
    "backquotes": "`id`",
    "path separator": "a/b",
    "parent directory": "../app",
    "empty": "",
    "too long": "a" * 65,
    # Docker reads 64 hexadecimal characters as an image ID, not a name (its reference grammar).
    "an image ID": "c0ffee" * 10 + "beef",
}


def refused(copie, **answers: object) -> str:
    """Ask pytest-copie for a project; insist it was refused with nothing written; the reason."""
    result = copie.copy(extra_answers=answers)
    assert result.exit_code != 0
    assert isinstance(result.exception, ValueError), result.exception
    written = [p for p in copie.test_dir.rglob("*") if not p.is_dir()]
    assert not written, f"something was written: {written}"
    return str(result.exception)


@pytest.mark.parametrize("name", BAD_NAMES.values(), ids=BAD_NAMES.keys())
def test_bad_project_name_is_refused_before_anything_is_written(copie, tmp_path: Path, name):
    reason = refused(copie, project_name=name)
    assert "The project name" in reason
    assert "\n" not in reason
    assert not list(Path.cwd().glob("pwned")) and not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("name", ["My App", "$(touch pwned)", "../escape"])
def test_copier_command_line_refuses_a_bad_name_in_one_line_and_creates_nothing(
    tmp_path: Path, name: str
):
    destination = tmp_path / "out"
    result = copier(*copy_args(destination, project_name=name))
    assert result.returncode != 0
    assert not destination.exists()
    assert not (tmp_path / "pwned").exists()
    reasons = [line for line in result.stderr.splitlines() if "Validation error" in line]
    assert len(reasons) == 1 and "The project name" in reasons[0], result.stderr


@pytest.mark.parametrize("name", ["a", "my-app", "app2", "x1-y2-z3", "z" * 64, "a" * 63 + "g"])
def test_good_project_name_is_accepted(tmp_path: Path, name: str):
    project = tomllib.loads((render(tmp_path, project_name=name) / "pyproject.toml").read_text())[
        "project"
    ]
    assert project["name"] == name


def test_default_project_name_comes_from_the_destination_folder(tmp_path: Path):
    result = copier("copy", "--defaults", "--skip-tasks", str(ROOT), str(tmp_path / "My_Service"))
    assert result.returncode == 0, result.stderr
    pyproject = tomllib.loads((tmp_path / "My_Service" / "pyproject.toml").read_text())
    assert pyproject["project"]["name"] == "my-service"


@pytest.mark.parametrize(
    ("question", "answer", "reason"),
    [
        ("description", "two\nlines", "single line"),
        ("description", "bell\a", "control characters"),
        ("description", "tab\there", "tabs"),
        ("python_version", "3.9", "Invalid choice"),
        ("base_image", "alpine", "Invalid choice"),
        ("ci", "jenkins", "Invalid choice"),
        ("license", "WTFPL", "Invalid choice"),
        ("repository_url", "http://example.org/x", "https:// URL"),
        ("repository_url", "https://example.org/x y", "https:// URL"),
        ("repository_url", 'https://example.org/"x', "https:// URL"),
        ("repository_url", "https://-/x", "https:// URL"),
        ("repository_url", "https://example.org:70000/x", "from 1 to 65535"),
        ("repository_url", "https://example.org:0/x", "from 1 to 65535"),
        ("author_name", "Ada\nLovelace", "single line"),
        ("author_name", "Lovelace, Ada", "may not hold any of"),
        ("author_name", "Ada <ada@example.org>", "may not hold any of"),
        ("author_email", "not-an-address", "does not look like"),
        ("author_email", "a@b@example.org", "does not look like"),
        ("author_email", "ada lovelace@example.org", "does not look like"),
        ("author_email", "a@b..c", "does not look like"),
        ("author_email", "a@-x.org", "does not look like"),
        ("author_email", "a@x-.org", "does not look like"),
        ("author_email", "a@example.o", "does not look like"),
        ("author_email", ".ada@example.org", "does not look like"),
        ("author_email", "ada.@example.org", "does not look like"),
        ("author_email", "a@.example.org", "does not look like"),
        ("description", "x" * 513, "at most 512"),
    ],
)
def test_bad_free_text_is_refused_before_anything_is_written(
    copie, question: str, answer: str, reason: str
):
    assert reason in refused(copie, **{question: answer})


@pytest.mark.parametrize(
    ("answers", "reason"),
    [
        ({"base_image": "uv"}, "Invalid choice for 'base_image': ghcr.io/astral-sh/uv"),
        ({"ci": "gitlab"}, "Invalid choice for 'ci': GitLab's checks job would run in "),
    ],
)
def test_an_answer_naming_an_unpublished_image_is_refused_in_one_line_naming_it(
    copie, answers: dict[str, str], reason: str
):
    # uv's image for Python 3.15 is not published (published-images.yml).
    refusal = refused(copie, python_version="3.15", **answers)
    assert refusal.startswith(reason) and "\n" not in refusal
    assert "ghcr.io/astral-sh/uv:" in refusal and "python3.15-trixie-slim" in refusal


HOSTILE = (
    """Say "quoted"; back\\slashed \\n; $(touch pwned) `id` ${HOME} {{ project_name }} """
    """{% raw %} # not a comment \" \\" — ünïcode"""
)

# A name holds none of RFC 5322's specials (copier.yml says why), but may hold the rest.
HOSTILE_NAME = "Say 'hi' $HOME `id` ${HOME} {{ project_name }} {% raw %} # not — ünïcode O'Hara"


def test_hostile_free_text_lands_verbatim_as_valid_toml_and_yaml(tmp_path: Path):
    destination = render(
        tmp_path / "out",
        description=HOSTILE,
        author_name=HOSTILE_NAME,
        author_email="o'hara+tag@example.org",
    )
    pyproject = tomllib.loads((destination / "pyproject.toml").read_text())["project"]
    assert pyproject["description"] == HOSTILE
    assert pyproject["authors"] == [{"name": HOSTILE_NAME, "email": "o'hara+tag@example.org"}]
    answers = yaml.safe_load((destination / ".copier-answers.yml").read_text())
    assert answers["description"] == HOSTILE
    assert HOSTILE in (destination / "README.md").read_text()
    assert not (tmp_path / "pwned").exists()
    assert not (destination / "pwned").exists()


def test_empty_author_fields_leave_no_authors_entry(tmp_path: Path):
    destination = render(tmp_path / "out")
    assert "authors" not in tomllib.loads((destination / "pyproject.toml").read_text())["project"]


def test_email_alone_makes_an_authors_entry_with_the_email_only(tmp_path: Path):
    destination = render(tmp_path / "out", author_email="ada@example.org")
    project = tomllib.loads((destination / "pyproject.toml").read_text())["project"]
    assert project["authors"] == [{"email": "ada@example.org"}]


# A package's name is its module's and its command's too: each shape a tool refuses or that
# shadows something the project imports or runs (copier.yml's rules, checked against the tools
# themselves in test_answers.py).
PACKAGE_NAMES = {
    "a Python keyword": ("class", "a Python keyword"),
    "an async keyword": ("async", "a Python keyword"),
    "CPython's test package": ("test", "standard library"),
    "a standard module": ("json", "standard library"),
    "pytest's top-level py module": ("py", "already use at top level"),
    "the generated test module": ("test-main", "already use at top level"),
    "a name uv refuses for a script": ("python", "uv refuses"),
    "python3": ("python3", "uv refuses"),
    "a tool the project runs": ("uv", "shadow a command"),
    "the linter the project runs": ("hadolint", "shadow a command"),
}


@pytest.mark.parametrize(("name", "reason"), PACKAGE_NAMES.values(), ids=PACKAGE_NAMES.keys())
def test_a_package_name_python_uv_or_the_tools_cannot_take_is_refused_first(
    copie, name: str, reason: str
):
    refusal = refused(copie, project_name=name, project_kind="package")
    assert "'project_kind'" in refusal and reason in refusal and "\n" not in refusal


@pytest.mark.parametrize("name", ["class", "test", "py", "uv"])
def test_a_script_may_take_a_name_that_only_a_package_could_not(tmp_path: Path, name: str):
    assert (render(tmp_path / "p", project_name=name) / "main.py").exists()


@pytest.mark.parametrize(
    ("port", "reason"),
    [
        ("abc", "digits only"),
        ("9_000", "digits only"),
        ("+9000", "digits only"),
        ("08000", "digits only"),
        ("80", "between 1024 and 65535"),
        ("65536", "between"),
    ],
)
def test_a_bad_port_is_refused_in_one_line_naming_the_question(copie, port: str, reason: str):
    refusal = refused(copie, project_kind="service", port=port)
    assert refusal.startswith("Validation error for question 'port'") and reason in refusal


def test_a_script_ignores_a_port_it_never_asks_for(tmp_path: Path):
    assert (render(tmp_path / "p", port="80") / "main.py").exists()
