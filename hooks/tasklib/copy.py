"""Copy time: lock, build, say what the recorded source and CI location mean, next steps."""

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
    dropped_answers,
    parse_answers,
    questions,
    read_answers,
    recorded_kind,
    swapped_answers,
    unknown_data,
    update_command,
)
from tasklib.before import explain_swaps
from tasklib.docker import build_line, build_step, docker_build
from tasklib.git import committed, inside_a_repository, project_prefix
from tasklib.processes import GIT_TIMEOUT, Interrupted, aligned, probe, say, warn
from tasklib.uv import leave_workspace, lock, lock_steps

# A template source that a CI runner can reach (copier's own shortcuts and git URLs).
# A template source a CI runner can reach: copier.yml's template_update default and the jobs'
# own source step read it alike (tests/test_tasks.py).
REMOTE_SOURCE = re.compile(r"^(gh:|gl:|git\+|https?://|ssh://|git://|[\w.-]+@[\w.-]+:)")


def has_template_update_job() -> bool:
    gitlab = Path(".gitlab-ci.yml")
    return Path(".github/workflows/template-update.yml").is_file() or (
        gitlab.is_file() and "\ntemplate-update:" in gitlab.read_text(encoding="utf-8")
    )


def check_relative_source(source: str, answers_file: Path) -> None:
    """One line when the template is recorded as a relative path: `copier update` looks for
    it from wherever it runs, which is not where `copier copy` ran."""
    if Path(source).expanduser().is_absolute():
        return
    # The shell's folder when copier ran (the tasks run in the project folder).
    where = Path(os.environ.get("PWD", "")) / source
    absolute = f" ({shlex.quote(str(where))})" if where.is_absolute() and where.is_dir() else ""
    say(
        f"the template is recorded as the relative path {source}, which `copier update` looks "
        f"for from the folder it runs in, so updating this project will fail: set `_src_path` "
        f"in {answers_file} to the template's absolute path{absolute} or its git URL."
    )


def check_source(answers_file: Path) -> None:
    """A line for each update that could not reach the recorded template: any update, from a
    relative path; the weekly template-update job, from a local one (or how to add that job
    later, which copier.yml leaves out by default for a local source)."""
    answers = read_answers(answers_file)
    source = answers.get("_src_path", "")
    if not source or REMOTE_SOURCE.match(source):
        return
    if "://" not in source:
        check_relative_source(source, answers_file)
    record = f"set `_src_path` in {answers_file} to the template's git URL and commit"
    if has_template_update_job():
        say(
            f"the template is recorded as the local path {source}, which CI cannot reach, so "
            f"the weekly template-update job will fail until you {record}."
        )
    elif answers.get("ci", "none") != "none" and answers.get("template_update") != "true":
        update = f"{update_command(answers_file)} --defaults --data template_update=true"
        say(
            f"no weekly template-update job: the template came from the local path {source}, "
            f"which CI cannot reach. To add the job once the template has a git URL: {record}, "
            f"then `{update}`."
        )


def check_recopied_kind(before: bytes, answers_file: Path) -> None:
    """One line when a recopy switched the project kind: the recopy writes the new kind's
    files and leaves the old kind's, which the update refuses to make."""
    recorded = recorded_kind(parse_answers(os.fsdecode(before)))
    kind = read_answers(answers_file).get("project_kind", recorded)
    if kind != recorded:
        say(
            f"the recopy switched the project kind ({recorded} to {kind}): the files of both "
            "kinds are now here. `git status` lists them; to go back: `git restore --staged "
            "--worktree .` and delete the new untracked files. A kind is best changed by "
            "generating a new project and moving your code into it."
        )


# Where each CI service reads its files: at the repository's root, and nowhere else.
ROOT_ONLY = {".github/workflows": "GitHub", ".github/dependabot.yml": "Dependabot",
             ".gitlab-ci.yml": "GitLab"}  # fmt: skip


def check_ci_location() -> None:
    """One line when this project's CI files sit in a repository's subfolder, never read."""
    prefix = project_prefix()
    found = [path for path in ROOT_ONLY if Path(path).exists()]
    if prefix and found:
        readers = ", ".join(f"{ROOT_ONLY[path]} {path}" for path in found)
        say(
            f"this project is the folder {prefix} of its repository, and CI reads its files at "
            f"the repository's root only ({readers}): move them there, with the jobs' working "
            f"directory set to {prefix}, or they never run."
        )


def ignored_files(in_repository: bool) -> list[str]:
    """The project's files, as the copy left them, that the user's git ignores (a global
    excludes file, a repository above): `git add` would leave them out without a word."""
    project = Path.cwd()
    names = sorted(
        path.relative_to(project).as_posix()
        for path in project.rglob("*")
        if ".git" not in path.relative_to(project).parts and path.is_file()
    )
    if not names:
        return []
    with tempfile.TemporaryDirectory(prefix="copier-uv-docker-") as scratch:
        # Outside a repository: a new one, with this project's .gitignore, as `git init` makes.
        where = str(project) if in_repository else scratch
        if not in_repository:
            probe(["git", "init", "-q", scratch])
            if (project / ".gitignore").is_file():
                shutil.copy(project / ".gitignore", scratch)
        command = ["git", "-C", where, "-c", "core.quotePath=false", "check-ignore", "--"]
        code, out = probe([*command, *names], GIT_TIMEOUT)
    return os.fsdecode(out).splitlines() if code == 0 else []  # the template's names: one line each


def next_steps(
    tag: str, run_app: str, built: bool, port: str, answers_file: Path, recopy: bool
) -> None:
    """What to do now, for this project as it is (absolute path, git or not); a service's
    `docker run` publishes its port."""
    project = Path.cwd()
    review = []
    in_repository = inside_a_repository()
    ignored = ignored_files(in_repository)
    forced = f"git add -f -- {shlex.join(ignored)} && " if ignored else ""
    if recopy:  # the template rewrote committed files
        review = [("git diff", "review what the recopy rewrote, before committing it")]
        commit = f'git add . && {forced}git commit -m "Recopy from copier-uv-docker" -- .'
    elif in_repository:  # a subfolder of a repository: commit this folder only
        commit = f'git add . && {forced}git commit -m "Start from copier-uv-docker" -- .'
    else:
        commit = f'git init && git add -A && {forced}git commit -m "Start from copier-uv-docker"'
    if ignored:
        say(
            f"your git ignores {', '.join(ignored)} (a global excludes file, or a repository "
            "above): the commit below adds them with -f, as the project needs them."
        )
    build = [] if built else [build_step(tag)]
    publish = f"-p {port}:{port} " if port else ""
    blocks = [
        aligned([(f"cd {shlex.quote(str(project))}", ""), *review, (commit, "")]),
        aligned([
            (f"uv run {run_app}", "run it"),
            ("uv run pytest", "test it"),
            *build,
            (f"docker run --rm {publish}{tag}", ""),
            ("docker compose watch", "follow your edits"),
        ]),
    ]  # fmt: skip
    # In a workspace's member, `uv run` would lock and sync the workspace, outside the project.
    if first := leave_workspace():
        blocks[1].insert(0, f"# {first}, then:")
    print(
        f"\nYour project {tag} is ready in {project}.\n\nNext steps:\n"
        + "\n".join("".join(f"  {line}\n" for line in block) for block in blocks)
        + f"\nKeep it current with the template: commit, then `{update_command(answers_file)}`.",
        file=sys.stderr,
        flush=True,
    )


def after_copy(
    tag: str, run_app: str, build: bool, port: str, answers_file: Path, data: dict[str, object]
) -> None:
    """Lock, build if asked, then the next steps; whatever fails, the project stays."""
    later = [build_line(tag)] if build else []
    locked = built = False
    try:
        if locked := lock():
            built = build and docker_build(tag)
        elif build:
            warn("the image was not built: it needs uv.lock.", *lock_steps(), *later)
    except Interrupted:
        todo = later if locked else [*lock_steps(), *later]
        warn("interrupted: the steps after this point were not run.", *todo)
        return
    check_source(answers_file)
    template = TEMPLATE  # copier's checkout of this version
    names = questions(template)
    now = read_answers(answers_file)
    answered = [key for key in now if not key.startswith("_")]
    for line in unknown_data(data, names, answered, {}):
        say(line)
    # Answers already committed here: this copy is a recopy.
    if (before := committed(answers_file)) is not None:
        check_recopied_kind(before, answers_file)
        recorded = parse_answers(os.fsdecode(before))
        for key, value in dropped_answers(recorded, names).items():
            say(
                f"this template version asks no question {key}: the recopy dropped its "
                f"recorded answer {shlex.quote(value)} (`git diff "
                f"{shlex.quote(answers_file.as_posix())}` shows what it took instead)."
            )
        say_refused_on_recopy(recorded, now, data, template, before, answers_file)
    check_ci_location()
    next_steps(tag, run_app, built, port, answers_file, recopy=before is not None)


def say_refused_on_recopy(
    recorded: dict[str, str],
    now: dict[str, str],
    data: dict[str, object],
    template: Path,
    before: bytes,
    answers_file: Path,
) -> None:
    """A recopy writes before any hook can run: name each recorded answer it replaced
    because this version refuses it (copier takes the default then, without a word). An
    answer changed at a prompt is valid, and is not named."""
    swaps = swapped_answers(recorded, now, data)
    if not swaps:
        return
    with tempfile.TemporaryDirectory() as work:
        lines = explain_swaps(swaps, recorded, data, template, Path(work), before, answers_file,
                              then="the recopy switched it to", refused_only=True)  # fmt: skip
    if lines:
        say(
            "this template version refuses recorded answers, so the recopy replaced them:",
            *lines,
            f"  `git diff {shlex.quote(answers_file.as_posix())}` shows them; recopy again "
            "with each fixed as --data NAME=VALUE.",
        )
