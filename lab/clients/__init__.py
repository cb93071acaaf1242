"""Clients of a generated project that this repository installs from their registries, pinned.

    npm ci --prefix lab/clients     # the Dev Containers CLI (package-lock.json pins it)

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
