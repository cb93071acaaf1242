"""compose.yaml under podman-compose (PyPI, pinned in uv.lock) on Debian's Podman: `up --build`
builds the dev stage and runs it, the service answers on the port it publishes (moved by PORT
in .env, as with Docker Compose) and the script and the package print; `down` removes it.

podman-compose has no `watch` (tests/test_clients.py proves watch with Docker Compose). Podman
needs ulimits on this machine kind; they come from a containers.conf of the test's own
(CONTAINERS_CONF), never from the project.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from helpers import (
    BASE_IMAGES,
    KINDS,
    free_port,
    health_answers,
    missing,
    one_each,
    run_ok,
    wait_for,
)

from lab import locks


@pytest.fixture(scope="session")
def podman_compose(podman_env) -> tuple[str, dict[str, str]]:
    """podman-compose from the test environment, and an environment whose Podman has the
    ulimits this machine needs (tests/conftest.py's podman_env)."""
    found = shutil.which("podman-compose", path=str(Path(sys.executable).parent))
    if found is None:
        missing("podman-compose (PyPI) is not in the test environment")
    return found, podman_env


@pytest.mark.parametrize(("base_image", "kind"), one_each(BASE_IMAGES, KINDS))
def test_podman_compose_builds_runs_and_removes_the_app(
    podman, podman_compose, generated, base_image, kind
):
    command, env = podman_compose
    name = f"pcompose-{uuid.uuid4().hex[:10]}"
    project = generated(project_name=name, project_kind=kind, base_image=base_image)

    def compose(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return run_ok([command, "-p", name, *args], project, env=env, timeout=timeout)

    try:
        if kind == "service":
            port = free_port()
            (project / ".env").write_text(f"PORT={port}\n")
            with locks.podman_images():
                compose("up", "--build", "--detach")
            wait_for(f"the service on the host's port {port}", lambda: health_answers(port), 120)
        else:
            with locks.podman_images():
                ran = compose("up", "--build")
            assert f"Hello from {name}!" in ran.stdout, ran.stdout + ran.stderr
    finally:
        with locks.podman_images(removing=True):
            down = subprocess.run(
                [command, "-p", name, "down", "--rmi", "all", "--timeout", "5"],
                cwd=project,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
    assert down.returncode == 0, down.stderr
    left = subprocess.run(
        [*podman, "ps", "-aq", "--filter", f"label=io.podman.compose.project={name}"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert left.stdout.strip() == "", f"containers left after down: {left.stdout}"
