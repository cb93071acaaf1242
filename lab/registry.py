"""A local OCI registry: Debian's `docker-registry` (the CNCF distribution registry, 2.8).

    with running() as registry:      # a Registry, or the reason there is none
        registry.host                # "127.0.0.1:PORT", what image names start with
        registry.get("/v2/_catalog") # the registry's HTTP API, parsed JSON

Each one listens on a free port of 127.0.0.1 (Docker pushes to a loopback registry over plain
HTTP without configuration), keeps its storage in a temporary folder, asks for no credentials
and is stopped, by its own PID, when the block ends. It runs with a config file of its own and
no REGISTRY_* variable (distribution reads those as overrides of the file), so the package's
service — /etc/docker/registry/config.yml on :5000, with htpasswd auth, started by systemd
where there is one — neither helps nor gets in the way.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BINARY = "/usr/bin/docker-registry"

# Media types a registry serves for an image or an image index (Docker's and OCI's).
MANIFESTS = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)

CONFIG = """\
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
"""


@dataclass
class Registry:
    port: int
    process: subprocess.Popen[bytes]
    folder: Path

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def request(self, path: str, accept: str | None = None) -> tuple[bytes, dict[str, str]]:
        """GET a path of the HTTP API: the body and the headers."""
        headers = {"Accept": accept} if accept else {}
        asked = urllib.request.Request(f"http://{self.host}{path}", headers=headers)
        with urllib.request.urlopen(asked, timeout=30) as answer:  # noqa: S310 (our registry)
            return answer.read(), dict(answer.headers)

    def get(self, path: str) -> Any:
        return json.loads(self.request(path)[0])

    def tags(self, name: str) -> list[str]:
        """The tags of a repository, as `/v2/<name>/tags/list` lists them."""
        return sorted(self.get(f"/v2/{name}/tags/list").get("tags") or [])

    def manifest(self, name: str, reference: str) -> dict[str, Any]:
        """The manifest (or index) a tag or digest points at, with its media type."""
        body, headers = self.request(f"/v2/{name}/manifests/{reference}", MANIFESTS)
        manifest: dict[str, Any] = json.loads(body)
        manifest.setdefault("mediaType", headers.get("Content-Type", ""))
        return manifest

    def image_config(self, name: str, reference: str) -> dict[str, Any]:
        """The image configuration a tag points at (the first image of an index)."""
        manifest = self.manifest(name, reference)
        if "manifests" in manifest:
            images = [m for m in manifest["manifests"] if "attestation-manifest" not in str(m)]
            manifest = self.manifest(name, images[0]["digest"])
        config: dict[str, Any] = self.get(f"/v2/{name}/blobs/{manifest['config']['digest']}")
        return config

    def labels(self, name: str, reference: str) -> dict[str, str]:
        """The image's labels, read from its configuration blob."""
        return self.image_config(name, reference)["config"].get("Labels") or {}

    def answers(self) -> bool:
        try:
            self.request("/v2/")
        except OSError:
            return False
        return True

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(seconds: float = 30) -> Registry | str:
    """Start a registry; the reason in one line when there can be none."""
    binary = shutil.which("docker-registry") or BINARY
    if not Path(binary).exists():
        return "docker-registry is not installed (Debian: apt-get install docker-registry)"
    folder = Path(tempfile.mkdtemp(prefix="registry-"))
    port = free_port()
    config = folder / "config.yml"
    config.write_text(CONFIG.format(storage=folder / "storage", port=port))
    env = {key: value for key, value in os.environ.items() if not key.startswith("REGISTRY_")}
    with (folder / "registry.log").open("ab") as log:
        # Output to a file, nothing read: a process holding the test run's stdout open would
        # keep a CI job waiting after the tests end.
        process = subprocess.Popen(
            [binary, "serve", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
    registry = Registry(port, process, folder)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            reason = (folder / "registry.log").read_text().strip().splitlines()[-1:]
            registry.stop()
            return f"docker-registry exited with code {process.returncode}: {' '.join(reason)}"
        if registry.answers():
            return registry
        time.sleep(0.1)
    registry.stop()
    return f"docker-registry did not answer /v2/ within {seconds:.0f} s"


@contextmanager
def running() -> Iterator[Registry | str]:
    """A registry for the block (stopped after it), or the reason there is none."""
    registry = start()
    if isinstance(registry, str):
        yield registry
        return
    try:
        yield registry
    finally:
        registry.stop()
