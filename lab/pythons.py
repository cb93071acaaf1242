"""A CPython for every python_version choice, for the host and for the stand-in images.

    python -m lab pythons 3.14 3.15        # make them runnable on this machine (needs root)

uv cannot download interpreters here. pyenv has 3.10-3.13; Debian sid packages CPython 3.14 and
3.15 (python3.14, python3.15). Those are real CPython builds, but for sid's glibc, newer than this
machine's: `debootstrap` makes a sid root holding them, and `patchelf` points the host's copy of
each interpreter at that root's own loader and libraries, so that it runs here unchanged.
The folder `bin_dir()` then holds `python3.X` links that uv finds on PATH (lab/machine.py puts it
there). The stand-in images use the same sid root for those versions (lab/standins.py).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

from lab import locks
from lab.paths import CACHE
from lab.template import PYTHON_CHOICES

# The Debian suite that packages the versions pyenv lacks here, and those versions.
DEBIAN_SUITE = "sid"
DEBIAN_PYTHONS = ("3.14", "3.15")


def log(message: str) -> None:
    print(f"pythons: {message}", file=sys.stderr, flush=True)


def bin_dir() -> Path:
    """Where the host's `python3.X` links live (put on PATH by the tests)."""
    return CACHE / "pythons" / "bin"


def pyenv_python(version: str) -> Path | None:
    """The newest pyenv CPython of that minor version, if pyenv has one."""
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = [
        p
        for p in (pyenv_root / "versions").glob(f"{version}.*")
        if re.fullmatch(rf"{re.escape(version)}\.\d+", p.name)
    ]
    return max(candidates, key=lambda p: int(p.name.rsplit(".", 1)[1]), default=None)


def debian_packages() -> str:
    return ",".join(["ca-certificates", "passwd", *(f"python{v}" for v in DEBIAN_PYTHONS)])


def debian_root(mirror: str) -> Path:
    """A Debian sid minbase root with Debian's python{v} packages, made once and cached."""
    root = CACHE / f"rootfs-{DEBIAN_SUITE}-pythons"
    with locks.artefact(root.name):
        if not (root / "etc" / "debian_version").exists():
            _debootstrap(root, mirror)
    return root


def _debootstrap(root: Path, mirror: str) -> None:
    partial = root.with_name(root.name + ".partial")
    locks.remove_tree(partial)
    partial.parent.mkdir(parents=True, exist_ok=True)
    log(f"debootstrap {DEBIAN_SUITE} with {debian_packages()} from {mirror} (about 30 s)")
    locks.debootstrap(DEBIAN_SUITE, debian_packages(), partial, mirror)
    for junk in ("var/lib/apt/lists", "var/cache/apt", "usr/share/doc", "usr/share/man"):
        shutil.rmtree(partial / junk, ignore_errors=True)
        (partial / junk).mkdir(parents=True)
    partial.rename(root)


def host_root(mirror: str) -> Path:
    """A copy of the sid root whose interpreters run on this host (patched loader and rpath)."""
    root = CACHE / "pythons" / "sid-root"
    with locks.artefact("pythons-sid-root"):
        if not (root / "etc" / "debian_version").exists():
            _patched_copy(root, mirror)
    return root


def _patched_copy(root: Path, mirror: str) -> None:
    partial = root.with_name(root.name + ".partial")
    locks.remove_tree(partial)
    partial.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cp", "-a", str(debian_root(mirror)), str(partial)], check=True)
    for version in DEBIAN_PYTHONS:
        subprocess.run(
            [
                "patchelf",
                "--set-interpreter",
                str(root / "usr/lib64/ld-linux-x86-64.so.2"),
                "--force-rpath",
                "--set-rpath",
                str(root / "usr/lib/x86_64-linux-gnu"),
                str(partial / "usr" / "bin" / f"python{version}"),
            ],
            check=True,
        )
    partial.rename(root)


def ensure_host(versions: list[str], mirror: str | None) -> list[str]:
    """Make every version runnable here as `bin_dir()/python{v}`: pyenv's, else Debian's (when
    a mirror is given and this machine can make them); return the versions now there."""
    folder = bin_dir()
    folder.mkdir(parents=True, exist_ok=True)
    for version in versions:
        source = pyenv_python(version)
        if source is not None:
            executable = source / "bin" / f"python{version}"
        elif version in DEBIAN_PYTHONS and mirror and can_provide() is None:
            executable = host_root(mirror) / "usr" / "bin" / f"python{version}"
        else:
            continue
        link = folder / f"python{version}"
        if link.is_symlink() and link.readlink() == executable:
            continue
        link.unlink(missing_ok=True)
        link.symlink_to(executable)
        probe = subprocess.run([str(link), "-c", "import ssl, sqlite3"], capture_output=True)
        if probe.returncode != 0:
            link.unlink()
            log(f"python{version} from {executable} does not run here: {probe.stderr!r}")
    return [v for v in versions if (folder / f"python{v}").exists()]


def can_provide() -> str | None:
    """Why this machine cannot make the sid interpreters, or None if it can."""
    if os.geteuid() != 0:
        return "making Debian's interpreters needs root (debootstrap)"
    missing = [tool for tool in ("debootstrap", "patchelf") if shutil.which(tool) is None]
    if missing:
        return (
            f"{' and '.join(missing)} not installed (Debian: apt-get install {' '.join(missing)})"
        )
    return None


@cache
def lockable_pythons() -> list[str]:
    """The python_version choices that uv finds an interpreter for on this machine."""
    found = []
    for version in PYTHON_CHOICES:
        probe = subprocess.run(
            ["uv", "python", "find", "--no-project", version],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0:
            found.append(version)
    return found
