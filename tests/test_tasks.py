"""The post-copy hook: it locks, and when the world fails it, the project survives."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
import yaml
from helpers import (
    COPIER_YML,
    HOOK,
    ROOT,
    copier,
    copy_args,
    docker_clients,
    hook,
    lock_advice_outside_the_workspace,
    missing,
    path_without,
    render,
    run_ok,
)
from hypothesis import example, given
from hypothesis import strategies as st

from lab import debian
from lab.project import source
from lab.template import template_update_default

RENDERED = {"main.py", "pyproject.toml", "Dockerfile", "README.md", ".copier-answers.yml"}


def environment(path: Path, **extra: str) -> dict[str, str]:
    """This PATH, with the user's DOCKER_BUILDKIT=1 (what the next steps then say is tested
    on its own, with and without it)."""
    return {**os.environ, "DOCKER_BUILDKIT": "1", "PATH": str(path), **extra}


def assert_kept(project: Path, result: subprocess.CompletedProcess[str], *later: str) -> None:
    """Copier succeeded, the project is on disk, and stderr says what to run later."""
    assert result.returncode == 0, result.stderr
    assert {p.name for p in project.iterdir()} >= RENDERED
    assert f"The project is kept in {project}" in result.stderr
    for command in later:
        assert f"    {command}\n" in result.stderr, result.stderr


def test_copy_writes_a_lock_that_matches_pyproject(tmp_path: Path):
    project = tmp_path / "app"
    result = copier(*copy_args(project))
    assert result.returncode == 0, result.stderr
    run_ok(["uv", "lock", "--check"], cwd=project)
    assert "The project is kept" not in result.stderr


def test_without_uv_the_project_is_kept_and_the_user_is_told_to_run_uv_lock(tmp_path: Path):
    project = tmp_path / "app"
    result = copier(
        *copy_args(project), env=environment(path_without(tmp_path, "uv", "uvx", "docker"))
    )
    assert_kept(project, result, "uv lock")
    assert "uv was not found" in result.stderr
    assert not (project / "uv.lock").exists()


def test_uv_is_taken_from_copiers_interpreter_when_not_on_path(tmp_path: Path):
    interpreter_env = tmp_path / "copier-env"
    run_ok(
        ["uv", "venv", "--quiet", "--python", sys.executable, str(interpreter_env)], cwd=tmp_path
    )
    run_ok(
        ["uv", "pip", "install", "--quiet", "--python", str(interpreter_env), "uv"], cwd=tmp_path
    )
    project = render(tmp_path / "app")
    python = interpreter_env / "bin" / "python"
    path = path_without(tmp_path, "uv", "uvx", "docker")
    done = subprocess.run(
        [str(python), str(HOOK), "after-copy", "--image-tag", "app", "--no-docker-build"],
        cwd=project,
        env=environment(path),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"running {python} -m uv lock" in done.stderr
    run_ok(["uv", "lock", "--check"], cwd=project)


def test_offline_lock_of_a_project_with_dependencies_keeps_the_project(tmp_path: Path):
    # The dev group (pytest, ruff) must come from the index: with no network and an empty
    # cache, `uv lock` cannot resolve it.
    project = tmp_path / "app"
    offline = {"UV_OFFLINE": "1", "UV_CACHE_DIR": str(tmp_path / "empty-cache")}
    result = copier(*copy_args(project), env={**os.environ, **offline})
    assert_kept(project, result, "uv lock")
    # uv's own reason, relayed in the hook's one-line summary, not a guess.
    summary = next(line for line in result.stderr.splitlines() if "`uv lock` failed" in line)
    assert re.search(r"failed \(exit code \d+\): error: No solution found", summary), summary
    assert re.search(r"cause: Because [\w-]+ was not found in the cache", summary), summary
    assert "hint: Packages were unavailable because the network was disabled" in summary
    assert not (project / "uv.lock").exists()


def test_an_offline_relock_failure_is_summed_up_by_uvs_hint_on_the_network(tmp_path: Path):
    # A locked project whose uv.lock forks on the Python version, then a dependency uv's cache
    # lacks: uv hints first at narrowing requires-python, which would not help, then at the
    # disabled network, which is the cause.
    project = tmp_path / "app"
    result = copier(*copy_args(project))
    assert result.returncode == 0, result.stderr
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace("dependencies = []", 'dependencies = ["art"]')
    )
    failed = subprocess.run(
        ["uv", "lock"], cwd=project, env={**os.environ, "UV_OFFLINE": "1"},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert failed.returncode != 0
    hints = [line for line in failed.stderr.splitlines() if line.startswith("hint:")]
    assert len(hints) == 2 and "requires-python" in hints[0], failed.stderr
    reason = hook("uv").reason_of(failed.stderr)
    assert "hint: Packages were unavailable because the network was disabled" in reason
    assert "requires-python" not in reason


def test_without_a_matching_python_the_project_is_kept(tmp_path: Path):
    # A machine without Python 3.15: every python3.15 taken off PATH (pyenv has none).
    project = tmp_path / "app"
    path = path_without(tmp_path, "python3.15")
    result = copier(*copy_args(project, python_version="3.15"), env=environment(path))
    assert_kept(project, result, "uv lock")
    assert "`uv lock` failed" in result.stderr


def test_docker_build_without_docker_keeps_the_locked_project(tmp_path: Path):
    project = tmp_path / "app"
    path = path_without(tmp_path, "docker")
    result = copier(*copy_args(project, docker_build=True), env=environment(path))
    assert_kept(project, result, "docker build -t app .")
    assert "docker was not found" in result.stderr
    run_ok(["uv", "lock", "--check"], cwd=project)


def test_docker_build_with_the_engine_down_keeps_the_project(tmp_path: Path):
    client = shutil.which("docker") or "/usr/bin/docker"
    if not Path(client).exists():
        pytest.skip("no docker client on this machine to talk to a stopped engine")
    path = path_without(tmp_path, "docker")
    (path / "docker").symlink_to(client)
    project = tmp_path / "app"
    down = {"DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"}
    result = copier(*copy_args(project, docker_build=True), env=environment(path, **down))
    assert_kept(project, result, "docker build -t app .")
    assert "the Docker engine did not answer" in result.stderr


@contextmanager
def silent_engine(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A Docker endpoint that accepts connections and never answers; the env pointing at it."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    path = tmp_path / "silent.sock"
    listener.bind(str(path))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            with suppress(TimeoutError, OSError):
                held.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield {"DOCKER_HOST": f"unix://{path}"}
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        listener.close()


def docker_client() -> str:
    client = shutil.which("docker", path="/usr/bin") or shutil.which("docker")
    if client is None:
        pytest.skip("no docker client on this machine")
    return client


def test_an_engine_that_never_answers_costs_the_copy_one_bound_not_one_per_command(
    tmp_path: Path,
):
    path = path_without(tmp_path, "docker")
    asked = tmp_path / "asked"
    # Debian 12's client, whose every command (`--version` too) waits on the engine.
    (path / "docker").write_text(f'#!/bin/sh\necho "$*" >> {asked}\nexec {docker_client()} "$@"\n')
    (path / "docker").chmod(0o755)
    project = tmp_path / "app"
    with silent_engine(tmp_path) as silent:
        result = copier(*copy_args(project, docker_build=True), env=environment(path, **silent))
    assert_kept(project, result, "docker build -t app .")
    assert "did not finish within 15 s and was stopped" in result.stderr
    assert "the Docker engine did not answer" in result.stderr
    # Asked once: each later probe (its version, buildx) would have waited 15 s more.
    assert asked.read_text() == "version --format {{.Server.Version}}\n"
    assert "buildx" not in result.stderr.split("Next steps:")[1], "advice from no answer"


def test_a_command_stopped_at_its_bound_is_not_asked_again_nor_taken_for_an_answer(
    monkeypatch, capsys
):
    processes, after = hook("processes"), hook("after")
    monkeypatch.setattr(processes, "STALLED", set())
    started = time.monotonic()
    assert processes.probe(["sleep", "30"], timeout=0.2) == (processes.KILLED, b"")
    assert processes.probe(["sleep", "30"], timeout=30) == (processes.KILLED, b"")
    # A step (`uv lock` after its stalled probe, say) is not run either, and says why.
    assert processes.run(["sleep", "30"], timeout=30) == (124, "")
    assert time.monotonic() - started < 20, "asked again, and waited again"
    said = capsys.readouterr().err
    assert "`sleep 30` was not run: an earlier command of sleep did not finish" in said, said
    # A merge whose git ran out of time keeps the owner's text, as a conflict (not git's
    # empty output as the merged file).
    processes.STALLED.add("git")
    merged, conflict = after.merge_three(b"yours\n", b"base\n", b"theirs\n", "main.py")
    assert (merged, conflict) == (b"yours\n", True)


def test_ctrl_c_during_the_task_keeps_the_project_and_lists_what_is_left(tmp_path: Path):
    path = path_without(tmp_path, "docker")
    (path / "docker").symlink_to(docker_client())
    project = tmp_path / "app"
    with silent_engine(tmp_path) as silent:
        # Its own process group, as a terminal makes one: Ctrl-C reaches copier and the hook.
        copy = subprocess.Popen(
            [sys.executable, "-m", "copier", *copy_args(project, docker_build=True)],
            env=environment(path, **silent),
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        assert copy.stderr is not None
        seen = []
        for line in copy.stderr:  # until the hook waits on the engine
            seen.append(line)
            if "running" in line and "docker version" in line:
                break
        os.killpg(copy.pid, signal.SIGINT)
        try:
            rest = copy.communicate(timeout=60)[1]
        finally:
            with suppress(ProcessLookupError):
                os.killpg(copy.pid, signal.SIGKILL)
    stderr = "".join(seen) + rest
    assert "Traceback" not in stderr.split("copier-uv-docker: interrupted")[0]
    assert "copier-uv-docker: interrupted: the steps after this point were not run." in stderr
    assert "    docker build -t app .\n" in stderr
    assert (project / "uv.lock").is_file() and (project / "Dockerfile").is_file()


@pytest.mark.parametrize("caller", ["run", "probe"])
def test_ctrl_c_while_the_hook_starts_a_command_kills_that_command_too(
    caller: str, monkeypatch: pytest.MonkeyPatch
):
    # The window the terminal test above can only hit by chance: the signal lands inside
    # Popen, after the fork. Sent to the hook alone, it is also the child's own SIGINT lost
    # before its exec (Python's handler, still in place there, only notes it).
    processes = hook("processes")
    popen, started = subprocess.Popen, []

    def signalled_while_starting(*args: object, **kwargs: object) -> subprocess.Popen[bytes]:
        started.append(popen(*args, **kwargs))  # type: ignore[call-overload]
        os.kill(os.getpid(), signal.SIGINT)
        return started[-1]

    monkeypatch.setattr(processes.subprocess, "Popen", signalled_while_starting)
    previous = signal.signal(signal.SIGINT, processes.interrupted)
    try:
        with pytest.raises(processes.Interrupted):
            getattr(processes, caller)(["sleep", "60"], 120)
    finally:
        signal.signal(signal.SIGINT, previous)
    [sleep] = started
    assert sleep.returncode == -signal.SIGKILL  # killed and reaped, not left to run
    assert not processes.RUNNING


def uv_workspace(tmp_path: Path) -> Path:
    """A monorepo folder that is a uv workspace whose members are its services/* folders."""
    parent = tmp_path / "monorepo"
    (parent / "services").mkdir(parents=True)
    (parent / "pyproject.toml").write_text(
        '[project]\nname = "monorepo"\nversion = "0"\nrequires-python = ">=3.11"\n'
        '[tool.uv.workspace]\nmembers = ["services/*"]\n'
    )
    return parent


def test_inside_a_uv_workspace_the_parent_is_never_changed_and_the_user_is_told(
    tmp_path: Path,
):
    parent = uv_workspace(tmp_path)
    run_ok(["uv", "lock", "--quiet"], cwd=parent)
    before = {p.name: p.read_text() for p in parent.iterdir() if p.is_file()}
    project = parent / "services" / "app"
    # With a build asked for: its "not built" message says what to run too.
    result = copier(*copy_args(project, docker_build=True))
    assert_kept(project, result, "uv lock", "docker build -t app .")
    assert f"a member of the uv workspace at {parent}" in result.stderr
    assert "the image was not built" in result.stderr
    assert not lock_advice_outside_the_workspace(result.stderr)
    run_block = next_steps_of(result.stderr)[1]
    assert run_block[0] == (
        f"# add this folder to `exclude` under [tool.uv.workspace] in {parent / 'pyproject.toml'}"
        ", then:"
    ), run_block
    assert {p.name: p.read_text() for p in parent.iterdir() if p.is_file()} == before
    assert not (project / "uv.lock").exists()


def test_without_uv_inside_a_uv_workspace_the_lock_advice_still_leaves_it_first(
    tmp_path: Path,
):
    parent = uv_workspace(tmp_path)
    project = parent / "services" / "app"
    path = path_without(tmp_path, "uv", "uvx", "docker")
    result = copier(*copy_args(project), env=environment(path))
    assert_kept(project, result, "uv lock")
    assert "uv was not found" in result.stderr
    assert f"the uv workspace in {parent / 'pyproject.toml'}" in result.stderr, result.stderr
    assert not lock_advice_outside_the_workspace(result.stderr)
    # `uv run` locks and syncs too: the next steps leave the workspace before it.
    run_block = next_steps_of(result.stderr)[1]
    assert run_block[0].startswith("# if uv counts this folder as a member"), run_block
    assert run_block[1].startswith("uv run python main.py")


def test_without_uv_a_named_pipe_above_the_project_never_blocks_the_hook(tmp_path: Path):
    # Read as text to look for a workspace: a pipe named pyproject.toml would block forever.
    os.mkfifo(tmp_path / "pyproject.toml")
    project = tmp_path / "app"
    path = path_without(tmp_path, "uv", "uvx", "docker")
    result = copier(*copy_args(project), env=environment(path), timeout=120)
    assert_kept(project, result, "uv lock")
    assert "uv workspace" not in result.stderr, result.stderr


def test_copy_into_the_current_folder_names_it_absolutely(tmp_path: Path):
    project = tmp_path / "here"
    project.mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "copier", "copy", "--trust", "--defaults", str(ROOT), "."],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert f"Your project here is ready in {project}.\n" in result.stderr
    assert f"  cd {project}\n" in result.stderr and " ready in ." not in result.stderr


def test_recopy_gives_no_first_copy_advice(tmp_path: Path):
    project = tmp_path / "app"
    assert copier(*copy_args(project)).returncode == 0
    assert "git init" in copier(*copy_args(tmp_path / "other")).stderr
    run_ok(["git", "init", "-q"], cwd=project)
    run_ok(["git", "add", "-A"], cwd=project)
    run_ok(["git", "commit", "-q", "-m", "start"], cwd=project)
    result = copier("recopy", "--trust", "--defaults", "--overwrite", str(project))
    assert result.returncode == 0, result.stderr
    assert f"Your project app is ready in {project}." in result.stderr
    assert "git init" not in result.stderr
    # The recopy rewrote committed files: review them first, and commit them as a recopy.
    cd, review, commit = next_steps_of(result.stderr)[0]
    assert cd == f"cd {project}"
    assert " ".join(review.split()) == (
        "git diff # review what the recopy rewrote, before committing it"
    )
    assert commit == 'git add . && git commit -m "Recopy from copier-uv-docker" -- .'
    assert "the recopy switched the project kind" not in result.stderr


def test_a_recopy_that_switches_the_kind_says_both_kinds_files_are_left(tmp_path: Path):
    project = tmp_path / "app"
    assert copier(*copy_args(project)).returncode == 0
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "start"]):
        run_ok(["git", *command], cwd=project)
    result = copier(
        "recopy", "--trust", "--defaults", "--overwrite", "--data", "project_kind=package",
        str(project),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (project / "main.py").is_file() and (project / "src" / "app").is_dir()
    assert (
        "the recopy switched the project kind (script to package): the files of both kinds are "
        "now here."
    ) in result.stderr


def test_a_failed_lock_skips_the_build_and_lists_both_commands(tmp_path: Path):
    project = tmp_path / "app"
    result = copier(
        *copy_args(project, docker_build=True),
        env=environment(path_without(tmp_path, "uv", "uvx", "docker")),
    )
    assert_kept(project, result, "uv lock", "docker build -t app .")
    assert "the image was not built: it needs uv.lock" in result.stderr


def test_a_copy_says_which_data_answers_no_question_and_the_name_it_may_mean(tmp_path: Path):
    project = tmp_path / "app"
    result = copier(*copy_args(project, autor_name="Ada", **{"python version": "3.13"}))
    assert result.returncode == 0, result.stderr
    assert (
        "`autor_name` (given with --data or --data-file) answers no question of this template "
        "version, so copier ignores it: did you mean author_name?"
    ) in result.stderr, result.stderr
    assert "`python version` (given with --data or --data-file) answers no" in result.stderr
    # Copier's own names (a data file made from an answers file) and a question's are answers.
    data = {"_commit": "v1.0.0", "_src_path": "gh:o/t", "project_name": "b"}
    assert (
        hook("answers").unknown_data(data, hook("answers").questions(ROOT), ["project_name"], {})
        == []
    )


def test_copy_tasks_are_argument_lists_never_shell_strings():
    for task in [*COPIER_YML["_tasks"], *COPIER_YML["_migrations"]]:
        assert isinstance(task["command"], list), task


def test_the_hook_is_typed_strictly_imports_only_the_standard_library_and_its_parts_are_small():
    import ast

    parts = [HOOK, *sorted((HOOK.parent / "tasklib").glob("*.py"))]
    for path in parts:
        tree = ast.parse(path.read_text())
        imported = {
            alias.name.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        }
        imported |= {
            node.module.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module
        }
        imported -= {"tasklib"}  # its own parts
        assert imported <= sys.stdlib_module_names, (path, imported - sys.stdlib_module_names)
        assert len(path.read_text().splitlines()) <= 400, f"{path.name}: split it"
    run_ok([sys.executable, "-m", "mypy", "--strict", *map(str, parts)], cwd=ROOT)


def test_the_names_the_hook_reads_from_copier_yml_are_the_keys_copier_loads():
    # The hook cannot parse YAML (stdlib only): it reads top-level keys by their lines. Copier's
    # own loader, with its includes, is the reference; a key written otherwise fails here.
    from copier._template import load_template_config

    assert hook("answers").questions(ROOT) == set(load_template_config(ROOT / "copier.yml"))


def test_the_hook_refuses_a_misuse_with_a_usage_error(tmp_path: Path):
    done = subprocess.run(
        [sys.executable, str(HOOK), "after-copy"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "usage:" in done.stderr


def next_steps_of(stderr: str) -> list[list[str]]:
    """The next steps' blocks of commands, as printed (indent removed)."""
    steps = stderr.split("Next steps:\n", 1)[1].split("\nKeep it current", 1)[0]
    return [
        [line.removeprefix("  ") for line in block.splitlines() if line.strip()]
        for block in steps.strip("\n").split("\n\n")
    ]


def test_next_steps_align_each_comment_two_spaces_after_the_longest_command(tmp_path: Path):
    for answers in ({}, {"project_kind": "package", "project_name": "a-much-longer-name"}):
        result = copier(*copy_args(tmp_path / f"app{len(answers)}", **answers))
        assert result.returncode == 0, result.stderr
        for block in next_steps_of(result.stderr):
            width = max(len(line.split("  # ")[0]) for line in block)
            for line in block:
                if "  # " in line:
                    assert line.index("  # ") == width, (line, block)


@pytest.mark.parametrize("port", ["8000", "9000"])
def test_a_services_next_steps_publish_its_port_as_its_readme_does(tmp_path: Path, port: str):
    project = tmp_path / "svc"
    result = copier(*copy_args(project, project_kind="service", port=port))
    assert result.returncode == 0, result.stderr
    run_line = f"docker run --rm -p {port}:{port} svc"
    assert run_line in next_steps_of(result.stderr)[1]
    assert f"\n{run_line}\n" in (project / "README.md").read_text()


# `docker build` uses BuildKit by default from Docker 23 on; 18.09 to 22 need DOCKER_BUILDKIT=1.
# From 23 on, BuildKit is the buildx plugin: without it, the next steps say to install it first.
@pytest.mark.parametrize(
    ("client", "buildkit", "said"),
    [
        ("debian-12", None, "DOCKER_BUILDKIT=1 docker build -t app ."),
        ("debian-12", "1", "docker build -t app ."),
        ("debian-12", "true", "docker build -t app ."),
        ("sid", None, "docker build -t app .  # first install Docker's buildx plugin"),
        ("sid-buildx", None, "docker build -t app ."),
        ("debian-12", "0", "DOCKER_BUILDKIT=1 docker build -t app ."),
        ("sid-buildx", "0", "docker build -t app .  # first unset DOCKER_BUILDKIT (0 turns"),
    ],
)
def test_the_build_the_next_steps_say_is_the_one_this_docker_client_builds_with(
    tmp_path: Path, client: str, buildkit: str | None, said: str
):
    """Whether or not the hook builds, the build line works as printed on this client."""
    found = docker_clients().get(client.removesuffix("-buildx"))
    if found is None:
        missing(f"no {client} Docker client on this machine (Debian: apt-get install docker.io)")
    version = run_ok([str(found), "--version"], cwd=tmp_path).stdout
    assert version.startswith(
        "Docker version 20.10." if client == "debian-12" else "Docker version 28."
    )
    path = path_without(tmp_path, "docker")
    (path / "docker").symlink_to(found)
    env = {key: value for key, value in os.environ.items() if key != "DOCKER_BUILDKIT"}
    env.update(PATH=str(path), **({"DOCKER_BUILDKIT": buildkit} if buildkit else {}))
    # The client's plugins: sid's buildx, or none at all (the host's own left out).
    config = tmp_path / "docker-config"
    env["DOCKER_CONFIG"] = str(
        debian.cli_plugins(config, compose=None) if client.endswith("-buildx") else config
    )
    result = copier(*copy_args(tmp_path / "app"), env=env)
    assert result.returncode == 0, result.stderr
    steps = next_steps_of(result.stderr)[1]
    line = next(step for step in steps if "docker build" in step)
    assert line.startswith(said) and ("# " in line) == ("# " in said), line


def test_next_steps_in_a_repository_subfolder_commit_that_folder_without_git_init(
    tmp_path: Path,
):
    repo = tmp_path / "monorepo"
    run_ok(["git", "init", "-q", str(repo)], cwd=tmp_path)
    project = repo / "services" / "app"
    result = copier(*copy_args(project))
    assert result.returncode == 0, result.stderr
    assert "git init" not in result.stderr
    commit = 'git add . && git commit -m "Start from copier-uv-docker" -- .'
    assert next_steps_of(result.stderr)[0] == [f"cd {project}", commit]
    (repo / "other.txt").write_text("staged, the owner's\n")
    run_ok(["git", "add", "other.txt"], cwd=repo)
    run_ok(["bash", "-c", commit], cwd=project)  # what it says commits the project only
    staged = run_ok(["git", "diff", "--cached", "--name-only"], cwd=repo).stdout
    assert staged == "other.txt\n"


@pytest.mark.parametrize("where", ["new folder", "repository subfolder"])
def test_files_the_users_git_ignores_are_named_and_the_printed_commit_still_commits_them(
    tmp_path: Path, where: str
):
    """A global excludes file (core.excludesFile) that lists uv.lock and Dockerfile: `git add`
    alone would leave them out of the first commit, without a word."""
    excludes = tmp_path / "global-ignore"
    excludes.write_text("uv.lock\nDockerfile\n")
    gitconfig = tmp_path / "gitconfig"
    for key, value in (("core.excludesFile", str(excludes)), ("user.name", "Ada"),
                       ("user.email", "ada@example.org")):  # fmt: skip
        run_ok(["git", "config", "--file", str(gitconfig), key, value], cwd=tmp_path)
    env = {**os.environ, "GIT_CONFIG_GLOBAL": str(gitconfig)}
    if where == "new folder":
        project = tmp_path / "app"
    else:
        run_ok(["git", "init", "-q", str(tmp_path / "repo")], cwd=tmp_path)
        project = tmp_path / "repo" / "app"
    result = copier(*copy_args(project), env=env)
    assert result.returncode == 0, result.stderr
    assert "your git ignores Dockerfile, uv.lock (a global excludes file" in result.stderr
    commit = next_steps_of(result.stderr)[0][1]
    assert "git add -f -- Dockerfile uv.lock && " in commit, commit
    run_ok(["bash", "-c", commit], cwd=project, env=env)  # typed as printed
    committed = run_ok(["git", "ls-files"], cwd=project, env=env).stdout.split()
    assert {"Dockerfile", "uv.lock", "main.py"} <= set(committed)


@pytest.mark.parametrize(
    ("ci", "read"),
    [("github", "GitHub .github/workflows, Dependabot .github/dependabot.yml"),
     ("gitlab", "GitLab .gitlab-ci.yml")],
)  # fmt: skip
def test_ci_files_written_in_a_repository_subfolder_are_said_to_need_moving_to_its_root(
    tmp_path: Path, ci: str, read: str
):
    repo = tmp_path / "monorepo"
    run_ok(["git", "init", "-q", str(repo)], cwd=tmp_path)
    result = copier(*copy_args(repo / "services" / "app", ci=ci))
    assert result.returncode == 0, result.stderr
    assert (
        "this project is the folder services/app/ of its repository, and CI reads its files at "
        f"the repository's root only ({read}): move them there, with the jobs' working "
        "directory set to services/app/, or they never run."
    ) in result.stderr
    at_root = copier(*copy_args(tmp_path / "alone", ci=ci))  # its own repository, later
    assert "CI reads its files" not in at_root.stderr


# Folder names the shell takes and a parser of command output could mangle: bytes that are not
# UTF-8, and spaces or a tab at either end (uv prints the path as it is, then a newline).
@pytest.mark.parametrize(
    "name",
    [b"caf\xe9", b"my app ", b" app", b"app\t"],
    ids=["latin-1", "end-space", "start-space", "tab"],
)
def test_a_destination_is_never_taken_for_a_workspace_member_for_its_name(
    tmp_path: Path, name: bytes
):
    project = Path(os.fsdecode(os.fsencode(str(tmp_path)) + b"/" + name))
    result = copier(*copy_args(project, project_name="app"))
    assert result.returncode == 0, result.stderr
    assert "uv workspace" not in result.stderr
    run_ok(["uv", "lock", "--check"], cwd=project)


# Any folder name Linux takes: not "/" nor NUL, at most 255 bytes, any byte otherwise.
FOLDER_BYTES = st.binary(min_size=1, max_size=40).filter(
    lambda name: b"/" not in name and b"\0" not in name and name not in (b".", b"..")
)


@given(name=FOLDER_BYTES)
@example(name=b"my app ")
@example(name=b"app\n")
def test_a_project_alone_in_its_folder_is_no_workspace_member_whatever_the_folders_name(
    name: bytes,
):
    tasks = hook("uv")
    with tempfile.TemporaryDirectory() as scratch:
        project = Path(os.fsdecode(os.fsencode(scratch) + b"/" + name))
        project.mkdir()
        (project / "pyproject.toml").write_text('[project]\nname = "app"\nversion = "0.1.0"\n')
        with contextlib.chdir(project):
            assert tasks.workspace_root(tasks.uv_command()) is None


def test_a_copy_from_a_relative_template_path_says_the_update_would_not_find_it(tmp_path: Path):
    # `copier copy ../template app`: copier records the path as given, and `copier update`
    # looks for it from the folder it then runs in (the project's own, as its README says).
    relative = os.path.relpath(ROOT, tmp_path)
    made = subprocess.run(
        [sys.executable, "-m", "copier", *copy_args(Path("app"))[:-2], relative, "app"],
        cwd=tmp_path, env={**os.environ, "PWD": str(tmp_path)},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert (
        f"the template is recorded as the relative path {relative}, which `copier update` looks "
        "for from the folder it runs in, so updating this project will fail: set `_src_path` in "
        f".copier-answers.yml to the template's absolute path ({tmp_path / relative}) or its "
        "git URL."
    ) in made.stderr
    project = tmp_path / "app"
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "Start"]):
        run_ok(["git", *command], cwd=project)
    update = subprocess.run(
        [sys.executable, "-m", "copier", "update", "--trust", "--defaults"],
        cwd=project, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert update.returncode != 0, update.stderr  # as said: copier does not find the template
    absolute = copier(*copy_args(tmp_path / "absolute"))
    assert "relative path" not in absolute.stderr


# Template sources as Copier records them, by whether a CI runner can reach them.
REACHABLE = [
    "gh:owner/copier-uv-docker", "gl:group/copier-uv-docker", "https://github.com/o/t.git",
    "http://git.example.org/t", "ssh://git@example.org/t.git", "git://example.org/t",
    "git+file:///srv/template", "git+https://example.org/t", "git@github.com:o/t.git",
]  # fmt: skip
UNREACHABLE = [
    "/work/copier-uv-docker", "./template", "../template", "template", "~/template",
    "/home/me@corp/template", "file:///srv/template",
]  # fmt: skip


@pytest.fixture(scope="module")
def source_steps(tmp_path_factory) -> list[str]:
    """The template-update jobs' own step that refuses a source out of the runner's reach, for
    GitHub and for GitLab, as their shells run it."""
    folder = tmp_path_factory.mktemp("source-steps")
    github = render(folder / "gh", ci="github", template_update=True)
    workflow = yaml.safe_load((github / ".github/workflows/template-update.yml").read_text())
    steps = [next(s["run"] for s in workflow["jobs"]["update"]["steps"] if s.get("id") == "source")]
    gitlab = render(folder / "gl", ci="gitlab", template_update=True)
    job = yaml.safe_load((gitlab / ".gitlab-ci.yml").read_text())["template-update"]
    return [*steps, *(s for s in job["script"] if "_src_path" in s)]


@pytest.mark.parametrize("source_path", REACHABLE + UNREACHABLE)
def test_the_default_the_hook_and_the_jobs_agree_on_which_sources_a_runner_reaches(
    source_path: str, source_steps: list[str], tmp_path: Path
):
    reachable = source_path in REACHABLE
    assert template_update_default(source_path) is reachable
    assert bool(hook("copy").REMOTE_SOURCE.match(source_path)) is reachable
    answers = tmp_path / "answers.yml"
    answers.write_text(f"_src_path: {source_path}\n")
    assert len(source_steps) == 2
    for step in source_steps:
        ran = subprocess.run(
            ["sh", "-c", step], env={**os.environ, "ANSWERS_FILE": str(answers)},
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert (ran.returncode == 0) is reachable, ran.stdout


def test_a_copy_from_a_local_folder_gets_no_update_job_and_the_printed_way_to_add_it_works(
    tmp_path: Path,
):
    """The README's command (a local path, every default) makes no job that would fail; the
    copy says in one line how to add it, and that line, typed as printed, adds it."""
    template = tmp_path / "template"
    shutil.copytree(source(), template)
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "v1"], ["tag", "v1.0.0"]):
        run_ok(["git", *command], cwd=template)
    project = tmp_path / "app"
    result = copier(*copy_args(project)[:-2], str(template), str(project))
    assert result.returncode == 0, result.stderr
    assert not (project / ".github/workflows/template-update.yml").exists()
    said = [line for line in result.stderr.splitlines() if "template-update job" in line]
    assert len(said) == 1 and f"the local path {template}" in said[0], result.stderr
    found = re.search(r"once the template has a git URL: (.+?), then `(.+)`\.$", said[0])
    assert found, said[0]
    record, update = found.groups()
    assert record == "set `_src_path` in .copier-answers.yml to the template's git URL and commit"
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "Start"]):
        run_ok(["git", *command], cwd=project)
    # The template's URL, which git reaches here through the user's own insteadOf setting.
    url = "https://git.example.org/copier-uv-docker.git"
    answers = project / ".copier-answers.yml"
    answers.write_text(answers.read_text().replace(f"_src_path: {template}", f"_src_path: {url}"))
    run_ok(["git", "commit", "-qam", "The template's URL"], cwd=project)
    env = {
        **os.environ, "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"url.file://{template}.insteadOf", "GIT_CONFIG_VALUE_0": url,
    }  # fmt: skip
    assert shlex.split(update)[:3] == ["uvx", "copier", "update"]
    assert f"`{update}`" in (project / "README.md").read_text()  # the README says it too
    updated = subprocess.run(
        [sys.executable, "-m", "copier", *shlex.split(update)[2:]],
        cwd=project, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert updated.returncode == 0, updated.stderr
    assert (project / ".github/workflows/template-update.yml").is_file()
    assert "template-update job" not in updated.stderr, updated.stderr


def test_a_job_from_a_local_folder_is_named_as_failing_until_the_source_is_a_url(tmp_path: Path):
    project = tmp_path / "app"
    result = copier(*copy_args(project, template_update=True))
    assert result.returncode == 0, result.stderr
    warning = [line for line in result.stderr.splitlines() if "which CI cannot reach" in line]
    assert len(warning) == 1 and f"the local path {source()}" in warning[0], result.stderr
    assert "job will fail until you set `_src_path` in .copier-answers.yml" in warning[0]
    # Recorded as a URL (or without CI), nothing is said.
    answers = project / ".copier-answers.yml"
    text = re.sub(r"(?m)^_src_path: .*$", "_src_path: gh:me/copier-uv-docker", answers.read_text())
    answers.write_text(text)
    done = subprocess.run(
        [sys.executable, str(HOOK), "after-copy", "--image-tag", "app", "--no-docker-build"],
        cwd=project, capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "cannot reach" not in done.stderr
    none = copier(*copy_args(tmp_path / "no-ci", ci="none"))
    assert none.returncode == 0 and "cannot reach" not in none.stderr


def test_the_conflict_search_reads_only_regular_files_of_the_project(tmp_path: Path):
    project = render(tmp_path / "app")
    run_ok(["git", "init", "-q"], cwd=project)
    outside = tmp_path / "outside.txt"
    outside.write_text("<<<<<<< not the project's\n")
    (project / "link.txt").symlink_to(outside)
    os.mkfifo(project / "pipe")
    (project / "marked.txt").write_text("<<<<<<< before updating\nx\n>>>>>>> after updating\n")
    run_ok(["git", "add", "link.txt", "marked.txt"], cwd=project)
    (project / "pyproject.toml").unlink()  # the search, then stop: nothing to relock
    done = subprocess.run(
        [sys.executable, str(HOOK), "after-update"],
        cwd=project, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "the update left conflicts in:\n  marked.txt\n  Resolve" in done.stderr


def test_a_copier_below_the_floor_is_refused_in_one_line_and_why_the_floor_is_9_19_1(
    tmp_path: Path,
):
    """Copier 9.19.0 (PyPI, into uv's cache by .ci/run): from a template folder it reads
    copier.yml and refuses, naming the version it needs, before writing anything. From a git
    template, with this machine's git (2.39, Debian 12's), it cannot even clone it: the
    reason the floor is 9.19.1, the version every other test runs."""
    old = ["uvx", "--offline", "--from", "copier==9.19.0", "copier"]
    if subprocess.run([*old, "--version"], capture_output=True, check=False).returncode != 0:
        missing("Copier 9.19.0 is not in uv's cache: uvx --from copier==9.19.0 copier --version")
    project = tmp_path / "app"
    refused = subprocess.run([*old, *copy_args(project)], capture_output=True, text=True)
    assert refused.returncode != 0
    assert "requires Copier version >= 9.19.1" in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr and not project.exists()
    template = tmp_path / "template"
    shutil.copytree(source(), template)
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "v1"], ["tag", "v1.0.0"]):
        run_ok(["git", *command], cwd=template)
    cloned = subprocess.run(
        [*old, *copy_args(project)[:-2], str(template), str(project)], capture_output=True,
        text=True,
    )  # fmt: skip
    git_version = run_ok(["git", "--version"], cwd=tmp_path).stdout.split()[2]
    if tuple(map(int, git_version.split(".")[:2])) <= (2, 39):
        assert "checkout -f --end-of-options" in cloned.stderr, cloned.stderr
    assert cloned.returncode != 0


def test_copier_yml_stays_a_questionnaire_one_can_read_whole():
    """At most 500 lines: what only the maintainers need lives in docs/."""
    assert len((ROOT / "copier.yml").read_text().splitlines()) <= 500
