"""Project kinds on a real engine: a service is healthy and answers, a package runs its entry
point from a wheel-installed venv, each stops cleanly; the devcontainer's dev stage runs the
project's tests against the mounted work tree."""

from __future__ import annotations

import json

import pytest
from helpers import BASE_IMAGES, engines_too, wait_for


@pytest.mark.parametrize("base_image", engines_too(BASE_IMAGES, "distroless"))
def test_service_becomes_healthy_answers_and_stops_cleanly(docker, built, base_image):
    _, tag = built(base_image, "service", port=8123)
    container = docker("run", "-d", "--network", "none", tag).stdout.strip()
    try:

        def health() -> str:
            return docker("inspect", "--format", "{{.State.Health.Status}}", container).stdout

        wait_for("Docker to report the service healthy", lambda: health().strip() == "healthy")
        fetch = (
            "import urllib.request as u; print(u.urlopen('http://127.0.0.1:8123/').read().decode())"
        )
        answer = docker("exec", container, "python", "-c", fetch).stdout
        assert json.loads(answer) == {"message": f"Hello from {tag}!"}
        docker("stop", container)  # uvicorn: graceful shutdown on SIGTERM
        code = docker("inspect", "--format", "{{.State.ExitCode}}", container).stdout.strip()
        assert code == "0", f"exit code {code} (137: killed)"
    finally:
        docker("rm", "--force", container, check=False)


@pytest.mark.parametrize("base_image", engines_too(BASE_IMAGES, "uv"))
def test_package_image_runs_its_entry_point_installed_from_the_wheel(docker, built, base_image):
    _, tag = built(base_image, "package")
    module = tag.replace("-", "_")
    ran = docker("run", "--rm", "--network", "none", tag)
    assert ran.stdout.startswith(f"Hello from {tag}! (Python ")
    where = docker(
        "run",
        "--rm",
        "--network",
        "none",
        tag,
        "python",
        "-c",
        f"import {module}; print({module}.__file__)",
    )
    # Not an editable link to /app/src: the package itself is in the venv.
    assert "/app/.venv/lib/" in where.stdout and "site-packages" in where.stdout, where.stdout


@pytest.mark.parametrize("kind", ["script", "service", "package"])
def test_devcontainer_stage_runs_the_projects_tests_on_the_mounted_work_tree(docker, built, kind):
    project, tag = built("python-slim", kind, target="dev", devcontainer=True)
    config = json.loads((project / ".devcontainer/devcontainer.json").read_text())
    assert config["build"] == {"dockerfile": "../Dockerfile", "context": "..", "target": "dev"}
    # What the editor does: the work tree mounted, postCreateCommand, then the tests.
    workspace = f"/workspaces/{project.name}"
    env = [f"{k}={v}" for k, v in config["containerEnv"].items()]
    ran = docker(
        "run",
        "--rm",
        "-v",
        f"{project}:{workspace}",
        "-w",
        workspace,
        *(a for e in env for a in ("-e", e)),
        tag,
        "sh",
        "-c",
        f"{config['postCreateCommand']} && python -m pytest -q -p no:cacheprovider",
    )
    assert " passed" in ran.stdout, ran.stdout + ran.stderr
