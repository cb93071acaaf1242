"""The distroless base image: its final image has no shell, no package manager and no root; its
venv runs the very interpreter the image ships; the image holds the Debian packages Google
lists for it and no others; another Python is refused before anything is written.

Every kind, client and CI provider runs on it through the tests parametrized by base image."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import copier, copy_args, image

from lab import distroless

ANSWERS = {"base_image": "distroless", "python_version": distroless.PYTHON}

# What a shell, a package manager or root would leave visible to the app's own Python.
NOTHING_TO_RUN = """
import os, shutil
print(*(shutil.which(c) or "-" for c in ("sh", "bash", "busybox", "apt", "apt-get", "dpkg")))
print(os.path.exists("/bin/sh"), os.getuid())
"""

# The interpreter a Python runs on, behind every link, and its bytes' digest.
WHICH_PYTHON = """
import hashlib, os, sys
real = os.path.realpath(sys.executable)
print(real, hashlib.sha256(open(real, "rb").read()).hexdigest())
"""

# The packages the image's scanner metadata lists (distroless's PACKAGE_METADATA.md).
PACKAGES = """
import os
print(*sorted(n for n in os.listdir("/var/lib/dpkg/status.d") if not n.endswith(".md5sums")))
print(os.path.exists("/var/lib/dpkg/status"))
"""


def test_the_distroless_image_has_no_shell_no_package_manager_and_no_root(docker, built):
    _, tag = built("distroless", "script")
    ran = docker("run", "--rm", "--network", "none", tag, "python", "-c", NOTHING_TO_RUN)
    assert ran.stdout.split() == ["-"] * 6 + ["False", "10001"], ran.stdout
    config = json.loads(docker("image", "inspect", "--format", "{{json .Config}}", tag).stdout)
    # The base's python entrypoint is cleared: the command is the whole command.
    # Docker 20.10 writes a cleared entrypoint as null, Docker 28 leaves the key out.
    assert (config.get("Entrypoint"), config["Cmd"], config["User"]) == (
        None,
        ["python", "main.py"],
        "10001:10001",
    )
    shell = docker("run", "--rm", "--network", "none", "--entrypoint", "sh", tag, check=False)
    assert shell.returncode != 0 and "executable file not found" in shell.stderr


def test_the_venv_runs_the_interpreter_of_the_distroless_image_itself(docker, built):
    _, tag = built("distroless", "script")
    in_app = docker("run", "--rm", "--network", "none", tag, "python", "-c", WHICH_PYTHON)
    runtime = image("runtime_image", **ANSWERS)
    in_base = docker("run", "--rm", "--network", "none", runtime, "-c", WHICH_PYTHON)
    assert in_app.stdout == in_base.stdout
    assert in_app.stdout.startswith(f"/usr/bin/python{distroless.PYTHON} ")


def test_the_distroless_base_holds_the_packages_google_lists_and_no_others(docker):
    base = image("runtime_image", **ANSWERS)
    ran = docker("run", "--rm", "--network", "none", base, "-c", PACKAGES)
    listed, database = ran.stdout.splitlines()
    assert listed.split() == distroless.ALL_PACKAGES, f"{base}: {listed}"
    assert database == "False", f"{base} has dpkg's own database"


def test_distroless_with_another_python_is_refused_before_anything_is_written(tmp_path: Path):
    project = tmp_path / "hardened"
    result = copier(*copy_args(project, base_image="distroless", python_version="3.12"))
    assert result.returncode != 0
    assert not project.exists(), "something was written before the refusal"
    repository = image("runtime_image", **ANSWERS).rsplit(":", 1)[0]
    reason = (
        f"{repository} has Python {distroless.PYTHON} only: "
        f"choose python_version={distroless.PYTHON} or another base_image."
    )
    assert [line for line in result.stderr.splitlines() if reason in line], result.stderr


# The regular files no package's md5sums lists, outside /etc (configuration: passwd, group,
# os-release, the CA bundle, the packages' conffiles, which md5sums leaves out), dpkg's
# status.d: what the image holds beyond its Debian packages.
UNLISTED = """
import json, os
status_d = "/var/lib/dpkg/status.d"
listed = set()
for name in os.listdir(status_d):
    if name.endswith(".md5sums"):
        listed |= {"/" + line.split(None, 1)[1].strip() for line in open(f"{status_d}/{name}")}
unlisted = []
for top in set(os.listdir("/")) - {"proc", "sys", "dev", "etc", "tmp"}:
    if os.path.islink("/" + top):  # merged /usr: /bin is usr/bin
        continue
    for folder, _, files in os.walk("/" + top):
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path) and path not in listed and folder != status_d:
                unlisted.append(path)
print(json.dumps(sorted(unlisted)))
"""


def test_the_distroless_base_holds_no_file_outside_its_packages_but_configuration(docker):
    base = image("runtime_image", **ANSWERS)
    # -B: no bytecode of the probe's imports written, as a root user's would be.
    ran = docker("run", "--rm", "--network", "none", base, "-B", "-c", UNLISTED)
    assert json.loads(ran.stdout) == [], f"{base} holds files no package lists"
