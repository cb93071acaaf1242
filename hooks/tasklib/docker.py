"""The image build: the client's BuildKit, the command, and the hook's own build."""

from __future__ import annotations

import functools
import os
import re
import shlex
import shutil

from tasklib.processes import BUILD_TIMEOUT, KILLED, PROBE_TIMEOUT, quiet, run, warn


def build_command(tag: str) -> list[str]:
    """The build this hook runs, as the user is told to run it."""
    return ["docker", "build", "-t", tag, "."]


# DOCKER_BUILDKIT as the user set it, before this hook sets it for its own build. The Docker
# client reads it as Go's strconv.ParseBool does.
USERS_BUILDKIT = os.environ.get("DOCKER_BUILDKIT")


TRUE, FALSE = {"1", "t", "T", "TRUE", "true", "True"}, {"0", "f", "F", "FALSE", "false", "False"}


@functools.cache
def client_version(docker: str) -> str:
    """`docker --version`'s line ("" if it fails), asked once: the next steps, the build
    and its BuildKit check all read it."""
    code, version = quiet([docker, "--version"])
    return version if code == 0 else ""


def legacy_by_default(docker: str) -> bool:
    """Docker 18.09 to 22: BuildKit is built in, but `docker build` uses the legacy builder
    unless DOCKER_BUILDKIT=1 (from 23 on, buildx is the default builder). Podman: Buildah."""
    major = re.match(r"Docker version (\d+)\.", client_version(docker))
    return major is not None and int(major.group(1)) < 23


@functools.cache  # asked by the build and by the next steps: probed once
def buildkit_missing(docker: str) -> str | None:
    """Why `docker build` would use the legacy builder, which cannot do `RUN --mount`."""
    if USERS_BUILDKIT is not None and USERS_BUILDKIT not in TRUE:
        off = "selects Docker's legacy builder" if USERS_BUILDKIT in FALSE else "is not a boolean"
        return f"DOCKER_BUILDKIT={USERS_BUILDKIT} {off}"
    if legacy_by_default(docker):
        os.environ["DOCKER_BUILDKIT"] = "1"  # for this hook's own build
        return None
    if quiet([docker, "buildx", "version"])[0] in (0, KILLED):
        return None  # there, or the client cannot tell (its engine does not answer)
    if "podman" in client_version(docker).lower():
        return None  # Podman builds with Buildah, which does `RUN --mount`
    return "the buildx plugin, which gives `docker build` BuildKit, is not installed"


def build_line(tag: str) -> str:
    """The build as the user should type it: with DOCKER_BUILDKIT=1 where their client would
    otherwise use the legacy builder."""
    docker = shutil.which("docker")
    needs = USERS_BUILDKIT not in TRUE and docker is not None and legacy_by_default(docker)
    return ("DOCKER_BUILDKIT=1 " if needs else "") + shlex.join(build_command(tag))


def build_step(tag: str) -> tuple[str, str]:
    """The build as the next steps say it, with what to do first where this client would
    build without BuildKit (checked whether or not the hook built; the probes are bounded).
    Docker 18.09 to 22 get DOCKER_BUILDKIT=1 in the line itself (build_line)."""
    docker = shutil.which("docker")
    missing = docker is not None and not legacy_by_default(docker) and buildkit_missing(docker)
    if not missing:
        first = ""
    elif USERS_BUILDKIT is not None and USERS_BUILDKIT not in TRUE:
        first = f"first unset DOCKER_BUILDKIT ({USERS_BUILDKIT} turns BuildKit off)"
    else:
        first = "first install Docker's buildx plugin (Debian, Ubuntu: docker-buildx)"
    return build_line(tag), first


def docker_build(tag: str) -> bool:
    """Build the image tagged with the project name; say what to do if that cannot be done."""
    build = build_line(tag)
    docker = shutil.which("docker")
    if docker is None:
        warn("docker was not found on PATH, so the image was not built.", build)
        return False
    code, _ = run([docker, "version", "--format", "{{.Server.Version}}"], PROBE_TIMEOUT)
    if code != 0:
        warn(
            "the Docker engine did not answer (is the daemon running?), "
            "so the image was not built.",
            build,
        )
        return False
    if reason := buildkit_missing(docker):
        warn(
            f"the image needs BuildKit (the Dockerfile uses `RUN --mount`), and {reason}, "
            "so it was not built.\n  Install Docker's buildx plugin (Debian and Ubuntu: "
            "`apt-get install docker-buildx`; Docker Desktop has it), or with Docker 20.10 "
            "to 22 set DOCKER_BUILDKIT=1.",
            build,
        )
        return False
    code, _ = run([docker, *build_command(tag)[1:]], BUILD_TIMEOUT)
    if code != 0:
        warn(f"`docker build` failed (exit code {code}), see its output above.", build)
    return code == 0
