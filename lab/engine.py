"""A Docker engine for the tests: the one that answers, or one they start and stop themselves.

The client must speak BuildKit (the Dockerfiles use `RUN --mount=type=cache`). On Debian
machines `/usr/bin/docker` (package docker.io) does with DOCKER_BUILDKIT=1, while a newer client
without the buildx plugin does not; `COPIER_UV_DOCKER_CLIENT` picks another one.

`COPIER_UV_DOCKER_ENGINE=sid` starts Debian sid's engine (Docker 28, containerd 2, with buildx
0.29 as the client's plugin), unpacked by lab/debian.py, with a data root of its own.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from lab import debian, locks, standins
from lab.paths import CACHE
from lab.template import DEBIAN, UV_VERSION

# What a process exports so that every `docker` it and its subprocesses run reach the engine.
EXPORTED = ("DOCKER_HOST", "DOCKER_BUILDKIT", "DOCKER_CONFIG")


@dataclass
class Engine:
    client: str
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    lock: IO[str] | None = None
    standins: set[str] = field(default_factory=set)
    started: bool = False  # by this run, rather than found answering

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [self.client, *args], env=self.env, capture_output=True, text=True, check=False
        )
        if check and done.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        return done

    def exported(self) -> dict[str, str]:
        """What a process exports so that its `docker` runs reach this engine."""
        return {key: self.env[key] for key in EXPORTED if key in self.env}

    def image_size(self, name: str) -> int:
        """The image's size in bytes, as `docker image ls` counts it."""
        return int(self("image", "inspect", "--format", "{{.Size}}", name).stdout)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.lock is not None:
            self.lock.close()  # releases the data root for the next run


SID = os.environ.get("COPIER_UV_DOCKER_ENGINE") == "sid"


def sid_tree() -> Path:
    return debian.unpack("docker.io", "docker-cli", "containerd", "docker-buildx")


def client() -> str | None:
    if SID:
        return str(sid_tree() / "usr/bin/docker")
    chosen = os.environ.get("COPIER_UV_DOCKER_CLIENT")
    if chosen:
        return chosen
    if Path("/usr/bin/docker").exists():
        return "/usr/bin/docker"
    return shutil.which("docker")


def answers(docker: str, env: dict[str, str]) -> bool:
    probe = subprocess.run(
        [docker, "info", "--format", "{{.ServerVersion}}"],
        env=env,
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


def start(docker: str) -> Engine | str:
    """Start dockerd with its own data root and socket; the reason when it cannot be done."""
    dockerd = str(sid_tree() / "usr/sbin/dockerd") if SID else shutil.which("dockerd")
    dockerd = dockerd or "/usr/sbin/dockerd"
    if not Path(dockerd).exists():
        return (
            "no Docker engine answers and dockerd is not installed"
            " (Debian: apt-get install docker.io)"
        )
    if os.geteuid() != 0:
        return "no Docker engine answers and starting dockerd needs root"
    # The data root is kept between runs (base images, build cache); the socket's folder is
    # short-lived and short-named, as unix socket paths must be.
    data_root = CACHE / ("dockerd-sid" if SID else "dockerd")
    data_root.mkdir(parents=True, exist_ok=True)
    # One daemon per data root: a second run (tests beside the benchmark) waits its turn.
    lock = (data_root / "lock").open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"engine: waiting for the other run using {data_root}", file=sys.stderr)
        fcntl.flock(lock, fcntl.LOCK_EX)
    run_dir = Path(tempfile.mkdtemp(prefix="cuvd-", dir="/tmp"))
    socket = run_dir / "docker.sock"
    log = data_root / "dockerd.log"
    env = {**os.environ, "DOCKER_HOST": f"unix://{socket}", "DOCKER_BUILDKIT": "1"}
    if SID:  # its containerd and shims first; runc is the machine's
        tree = sid_tree()
        env["PATH"] = os.pathsep.join([str(tree / "usr/bin"), str(tree / "usr/sbin"), env["PATH"]])
        config = debian.cli_plugins(data_root / "docker-config", compose=None)
        env["DOCKER_CONFIG"] = str(config)
    with log.open("ab") as log_file:
        # Its output goes to a file and it reads nothing: a daemon holding the test run's
        # stdout open would keep CI waiting after the tests end.
        process = subprocess.Popen(
            [
                dockerd,
                "--data-root",
                str(data_root / "data"),
                "--exec-root",
                str(run_dir / "exec"),
                "--pidfile",
                str(run_dir / "docker.pid"),
                "--host",
                f"unix://{socket}",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
            # The daemon holds the data root's lock too: the lock lasts as long as it does,
            # whichever process of the run started it (shared() below).
            pass_fds=(lock.fileno(),),
        )
    engine = Engine(docker, env, process, lock, started=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            engine.stop()
            return f"dockerd exited with code {process.returncode}; see {log}"
        if answers(docker, env):
            return engine
        time.sleep(0.2)
    engine.stop()
    return f"dockerd did not answer within 60 s; see {log}"


def connect() -> Engine | str:
    """The engine that answers, else one started here; else the reason why there is none."""
    docker = client()
    if docker is None:
        return "no docker client is installed (Debian: apt-get install docker.io)"
    env = {**os.environ, "DOCKER_BUILDKIT": "1"}
    if not SID and answers(docker, env):
        return Engine(docker, env)
    return start(docker)


@contextmanager
def running() -> Iterator[Engine | str]:
    """The engine, exported to this process's environment (so that every `docker` run here and
    in subprocesses reaches it) until the block ends, then stopped if it was started here."""
    engine = connect()
    if isinstance(engine, str):
        yield engine
        return
    saved = {key: os.environ.get(key) for key in EXPORTED}
    os.environ.update(engine.exported())
    # A plain `kill` must stop the daemon too: turn SIGTERM into an exit that runs `finally`.
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        yield engine
    finally:
        signal.signal(signal.SIGTERM, previous)
        engine.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# The build cache kept, the most recently used first: uv's and apt's download caches and the
# stages every run builds alike stay warm; the rest went to 64 GB and filled CI's disk.
BUILD_CACHE_KEPT = "3GB"


def reclaim(engine: Engine, keep: set[str] | None = None) -> None:
    """Empty an engine this run started on its own data root of everything but the images named
    in keep (by default every base image a project can start from: minutes to make) and
    BUILD_CACHE_KEPT of build cache: containers, volumes, other images and older cache that
    earlier runs left. An engine found answering is someone's own: never call this on it."""
    assert engine.started, "reclaim() empties only an engine that the run started itself"
    if keep is None:
        keep = standins.base_images(UV_VERSION, DEBIAN)
    containers = engine("container", "ls", "--all", "--quiet").stdout.split()
    if containers:
        engine("container", "rm", "--force", "--volumes", *containers, check=False)
    tags = engine("image", "ls", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    dropped = [tag for tag in tags if tag not in keep and not tag.endswith(":<none>")]
    if dropped:
        engine("image", "rm", "--force", *dropped, check=False)
    engine("image", "prune", "--force", check=False)  # the untagged ones
    engine("builder", "prune", "--all", "--force", "--keep-storage", BUILD_CACHE_KEPT, check=False)
    volumes = engine("volume", "ls", "--quiet").stdout.split()
    if volumes:
        engine("volume", "rm", "--force", *volumes, check=False)


# A test run's folder, shared by its pytest-xdist workers (the controller makes it).
RUN = "COPIER_UV_DOCKER_RUN"
# What the engine's environment adds to a process's own, for the others of the run.
ENGINE_KEYS = (*EXPORTED, "PATH")


def shared(folder: Path, prepare: Callable[[Engine], set[str]]) -> Engine | str:
    """The run's one engine, for every worker process of it: the first to ask connects to the
    engine that answers or starts one, and runs prepare() (the base images) once; the others
    wait for it, then get the same engine (a failed prepare() is tried again by the next). The
    run's controller stops a started daemon with stop_shared() when the run ends: a
    worker that finishes first must not."""
    # Bounded above the longest preparation seen (17 min: every stand-in made anew on a slow day).
    with locks.hold(folder / "lock", wait=2700):
        state = folder / "engine.json"
        if state.exists():
            record = json.loads(state.read_text())
            engine = Engine(record["client"], {**os.environ, **record["env"]})
            engine.started = record["pid"] is not None
            if record["ready"]:
                engine.standins = set(record["standins"])
                return engine
        else:
            found = connect()
            if isinstance(found, str):
                return found
            engine = found
            # Kept before prepare(): a failed preparation still leaves the daemon to stop.
            record = {
                "client": engine.client,
                "env": {k: engine.env[k] for k in ENGINE_KEYS if k in engine.env},
                "pid": engine.process.pid if engine.process else None,
                "ready": False,
                "standins": [],
            }
            state.write_text(json.dumps(record))
            if engine.lock is not None:
                engine.lock.close()  # the daemon holds the data root's lock from now on
                engine.lock = None
        engine.standins = prepare(engine)
        record.update(ready=True, standins=sorted(engine.standins))
        state.write_text(json.dumps(record))
        return engine


def stop_shared(folder: Path, seconds: float = 30) -> None:
    """Stop the daemon this run started, if it did, emptied first (reclaim()); then forget the
    run's folder."""
    state = folder / "engine.json"
    record = json.loads(state.read_text()) if state.exists() else {}
    pid = record.get("pid")
    if pid is not None:
        engine = Engine(record["client"], {**os.environ, **record["env"]}, started=True)
        with suppress(OSError):
            reclaim(engine)
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + seconds
            while alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
    shutil.rmtree(folder, ignore_errors=True)


def alive(pid: int) -> bool:
    """Whether a process runs (a zombie, exited but not yet reaped, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
