"""One maker at a time for each artefact the lab keeps in its cache, and no mount left behind.

Two pytest-xdist workers, or a test run beside the benchmark, may ask for the same stand-in root
file system or image at once: `artefact(name)` makes the second wait for the first, which it
then finds made. `debootstrap` mounts /proc (and more) inside the root it fills and leaves them
mounted when it fails or is interrupted: `unmount_below(folder)` undoes that before a retry
removes the folder, so that an interrupted run never poisons the next one.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lab.paths import CACHE

LOCKS = CACHE / "locks"
# Longer than any making takes here (a debootstrap of sid: about a minute): a wait past it is a
# deadlock, which fails the test that waits instead of holding CI until its own time runs out.
WAIT = 1200.0
# The lock files this process holds: asking for one again would wait on itself forever.
_held: set[Path] = set()


@contextmanager
def hold(
    path: Path, exclusive: bool = True, waiting: str | None = None, wait: float = WAIT
) -> Iterator[None]:
    """flock path (exclusive or shared) for the block, waiting at most `wait` seconds; say
    `waiting` once if another process holds it. Every lock the lab takes for a block goes
    through it; the one other is the engine's data root, held for the daemon's life."""
    if path in _held:
        raise RuntimeError(f"lab: this process already holds {path}: it would wait on itself")
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
    with path.open("w") as lock:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(lock, mode | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if waiting:
                    print(f"lab: {waiting}", file=sys.stderr, flush=True)
                    waiting = None
                if time.monotonic() > deadline:
                    raise TimeoutError(f"lab: waited {wait:.0f} s for {path}") from None
                time.sleep(0.2)
        _held.add(path)
        try:
            yield
        finally:
            _held.discard(path)


@contextmanager
def artefact(name: str, wait: float = WAIT) -> Iterator[None]:
    """Hold the lock of one artefact (a file name: "rootfs-trixie", an image's name) while the
    block makes it or finds it made. Released when the block ends, or when the process dies."""
    path = LOCKS / "artefacts" / (name.replace("/", "_").replace(":", "_") + ".lock")
    with hold(path, True, f"waiting for another process making {name}", wait):
        yield


@contextmanager
def podman_images(removing: bool = False, wait: float = WAIT) -> Iterator[None]:
    """Hold Podman's image store: shared while a command adds to it (a build, a load),
    alone while one removes an image. Debian's Podman 4.3 fails a build whose cache lookup
    meets an image being removed ("checking if cached image exists from a previous build:
    getting top layer info: layer not known": buildah issue 5674, fixed by its pull request
    6688 in buildah 1.43); workers removing their images while others build met it.
    Its own folder: no artefact's lock can be this file (one named "podman-images" was, and
    the worker holding it waited on itself)."""
    with hold(LOCKS / "stores" / "podman.lock", removing, None, wait):
        yield


def mounts_below(folder: Path) -> list[Path]:
    """The mount points at or under folder, deepest first (the order they unmount in)."""
    top = os.path.realpath(folder)
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        # Field 5 is the mount point, with space, tab, newline and backslash octal-escaped.
        point = line.split()[4].encode().decode("unicode_escape")
        if point == top or point.startswith(top + os.sep):
            points.append(Path(point))
    return sorted(points, key=lambda p: len(p.parts), reverse=True)


def unmount_below(folder: Path) -> None:
    """Unmount whatever a killed debootstrap or chroot left mounted under folder."""
    for point in mounts_below(folder):
        subprocess.run(["umount", "--lazy", str(point)], check=False)


def remove_tree(folder: Path) -> None:
    """Remove a half-made tree, after unmounting what is mounted inside it: rmtree would
    otherwise descend into the host's /proc and fail on every later run."""
    if not folder.exists():
        return
    unmount_below(folder)
    left = mounts_below(folder)
    if left:  # never descend into a mounted /proc or /dev: say what to unmount instead
        raise SystemExit(f"lab: {', '.join(map(str, left))} still mounted; umount it, then retry")
    shutil.rmtree(folder, ignore_errors=True)


def debootstrap(suite: str, include: str, target: Path, mirror: str) -> None:
    """A Debian minbase root of suite with these packages in target; whatever it mounted there
    is unmounted if it fails or is interrupted."""
    try:
        subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={include}",
                suite,
                str(target),
                mirror,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    finally:
        unmount_below(target)
