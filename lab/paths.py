"""Where things are: the repository, and the cache every lab module keeps its work in.

A leaf module, imported by every other one and importing none of them.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "copier-uv-docker"
