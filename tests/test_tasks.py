"""The post-copy hook: it locks, and when the world fails it, the project survives."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import COPIER_YML, ROOT, copier, copy_args, path_without, render, run_ok

HOOK = ROOT / "hooks" / "tasks.py"
RENDERED = {"main.py", "pyproject.toml", "Dockerfile", "README.md", ".copier-answers.yml"}


def environment(path: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "PATH": str(path), **extra}


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
    assert f"running {python} -m uv lock" in done.stdout
    run_ok(["uv", "lock", "--check"], cwd=project)


def test_offline_lock_of_a_project_with_dependencies_keeps_the_project(tmp_path: Path):
    # The dev group (pytest, ruff) must come from the index: with no network and an empty
    # cache, `uv lock` cannot resolve it.
    project = tmp_path / "app"
    offline = {"UV_OFFLINE": "1", "UV_CACHE_DIR": str(tmp_path / "empty-cache")}
    result = copier(*copy_args(project), env={**os.environ, **offline})
    assert_kept(project, result, "uv lock")
    assert "`uv lock` failed" in result.stderr
    assert not (project / "uv.lock").exists()


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


def test_a_failed_lock_skips_the_build_and_lists_both_commands(tmp_path: Path):
    project = tmp_path / "app"
    result = copier(
        *copy_args(project, docker_build=True),
        env=environment(path_without(tmp_path, "uv", "uvx", "docker")),
    )
    assert_kept(project, result, "uv lock", "docker build -t app .")
    assert "the image was not built: it needs uv.lock" in result.stderr


def test_copy_tasks_are_argument_lists_never_shell_strings():
    for task in [*COPIER_YML["_tasks"], *COPIER_YML["_migrations"]]:
        assert isinstance(task["command"], list), task


def test_the_hook_is_typed_strictly_and_imports_only_the_standard_library():
    import ast

    tree = ast.parse(HOOK.read_text())
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
    assert imported <= sys.stdlib_module_names, imported - sys.stdlib_module_names
    run_ok([sys.executable, "-m", "mypy", "--strict", str(HOOK)], cwd=ROOT)


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
