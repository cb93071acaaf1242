"""The template rendered aside by copier, as an update would render it: no task, no prompt."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tasklib.processes import RENDER_TIMEOUT, start, waited


def copier_copy(
    source: str,
    ref: str,
    destination: Path,
    answers: bytes,
    answers_file: Path,
    data: dict[str, object],
    pretend: bool = False,
) -> subprocess.Popen[bytes]:
    """Start copier rendering `source` at `ref` into `destination`, as `copier update` would
    for these recorded answers and these --data answers (tasks skipped, nothing asked)."""
    (destination / answers_file).parent.mkdir(parents=True, exist_ok=True)
    (destination / answers_file).write_bytes(answers)
    # Beside the destination, under a fixed name: the folder's own name may already be as
    # long as a file name can be. Renders that run at the same time have different parents.
    data_file = destination.parent / "data.json"
    data_file.write_text(json.dumps(data), encoding="utf-8")  # JSON is YAML for copier
    command = [
        sys.executable, "-m", "copier", "copy", "--trust", "--defaults", "--skip-tasks",
        "--quiet", "--overwrite", "--vcs-ref", ref, "--answers-file", answers_file.as_posix(),
        "--data-file", str(data_file), *(["--pretend"] if pretend else []), source,
        str(destination),
    ]  # fmt: skip
    return start(command, subprocess.DEVNULL, subprocess.PIPE)


def finished(render: subprocess.Popen[bytes]) -> tuple[int, str]:
    """Wait for a render, bounded: its exit code and copier's last line."""
    try:
        code, _, stderr = waited(render, RENDER_TIMEOUT)
    except subprocess.TimeoutExpired:
        return 124, f"copier did not finish within {RENDER_TIMEOUT} s"
    lines = os.fsdecode(stderr).strip().splitlines()
    return code, lines[-1] if lines else ""
