"""Fixtures shared by every test (importing helpers prepares the environment first)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import docker_engine
import pytest
import standins
from helpers import DEBIAN, UV_VERSION, lockable_pythons


@pytest.fixture
def generated(copie):
    """Generate a project through pytest-copie and insist that it worked."""

    def generate(**answers: object) -> Path:
        result = copie.copy(extra_answers=answers)
        assert result.exit_code == 0, result.exception
        return result.project_dir

    return generate


REQUIRE_ENGINE = "COPIER_UV_DOCKER_REQUIRE_ENGINE"


def _no_docker(reason: str) -> None:
    if os.environ.get(REQUIRE_ENGINE):
        pytest.fail(f"{REQUIRE_ENGINE} is set, but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def docker():
    """A Docker engine with every base image the variants need, pulled or stood in."""
    with docker_engine.running() as engine:
        if isinstance(engine, str):
            _no_docker(engine)
        try:
            engine.standins = standins.ensure(engine.client, lockable_pythons(), UV_VERSION, DEBIAN)
        except (OSError, subprocess.CalledProcessError, SystemExit) as error:
            _no_docker(f"base images can be neither pulled nor stood in: {error}")
        yield engine


@pytest.fixture(autouse=True)
def _report_docker_setup(request) -> None:
    """Each image test records which engine and base images it used, for the summary."""
    if "docker" in request.fixturenames:
        engine = request.getfixturevalue("docker")
        where = "started by the tests" if engine.process else "already running"
        bases = (
            f"local stand-ins for {', '.join(sorted(engine.standins))}"
            if engine.standins
            else "official images"
        )
        request.node.user_properties.append(
            ("docker", f"Docker engine: {engine.client}, {where}. Base images: {bases}.")
        )


@pytest.fixture
def docker_first_on_path(tmp_path: Path, docker) -> dict[str, str]:
    """An environment whose `docker` is the engine's BuildKit client, as the hook will see it."""
    folder = tmp_path / "docker-bin"
    folder.mkdir()
    (folder / "docker").symlink_to(docker.client)
    return {**docker.env, "PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"}


def pytest_terminal_summary(terminalreporter) -> None:
    """Say once which engine and base images the image tests used (also under pytest-xdist,
    whose workers send their reports, user properties included, to this process)."""
    lines = {
        value
        for reports in terminalreporter.stats.values()
        for report in reports
        for key, value in getattr(report, "user_properties", ())
        if key == "docker"
    }
    for line in sorted(lines):
        terminalreporter.write_line(line)
