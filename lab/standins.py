"""Build local stand-ins for the base images when no registry can be reached.

    python -m lab standins --python 3.12 --python 3.14 --uv-version 0.13.9 [--docker DOCKER]

Makes, under the official names, images that behave like the official ones for a generated
project, and only for names that published-images.yml lists (a stand-in imitates a published
image, it never invents a tag). The names are the ones copier.yml computes (lab/template.py):

    slim_image        python:{v}-slim-{debian}: Debian minbase + CPython {v} at /usr/local
    uv_image          ghcr.io/astral-sh/uv:{uv-version}: FROM scratch with /uv and /uvx
    uv_python_image   ghcr.io/astral-sh/uv:{uv-version}-python{v}-{debian}-slim: slim_image + uv
    distroless_image  gcr.io/distroless/python3-debian13:{latest,nonroot,debug,debug-nonroot}:
                      Debian 13's packages as Google lists them, unpacked (lab/distroless.py)

CPython comes from pyenv (`$(pyenv root)/versions/{v}.*`), copied to /usr/local in a {debian}
minbase root, as the official images lay it out. For a version pyenv lacks (3.14, 3.15 here),
the image is a Debian sid minbase root with Debian's own python{v} package, linked from
/usr/local/bin: sid's CPython needs sid's glibc, so that image's userland is sid, not {debian}.
The uv binaries come from the `uv` wheel on PyPI, root file systems from `debootstrap` with this
machine's Debian mirror. The host's CA bundle replaces Debian's, so that uv inside a build trusts
what the host trusts (a TLS proxy). A stand-in is not the official image: each carries the label
`io.github.copier-uv-docker.stand-in=true`, and sizes measured on it are not the official sizes.
Needs root (debootstrap, chroot).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from pathlib import Path
from typing import NamedTuple

from lab import distroless, locks, pythons
from lab.debian import mirror as debian_mirror
from lab.paths import CACHE
from lab.record import RECORD, published, record
from lab.template import BASE_IMAGES, PYTHON_CHOICES, accepted_pair, computed

STANDIN_LABEL = "io.github.copier-uv-docker.stand-in"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
PATH_IN_IMAGE = "/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin"
# What a slim image needs beyond minbase: Python's shared libraries come with Debian's python3,
# useradd with passwd, TLS roots with ca-certificates.
DEBIAN_PACKAGES = "python3,ca-certificates,passwd"
# Kept from the interpreter's bin/ and site-packages/: what the official image ships.
KEPT_SCRIPTS = re.compile(r"(python|pip|pydoc|idle|2to3)[0-9.]*(-config)?$")
KEPT_PACKAGES = re.compile(r"pip([-_.].*)?$|README.txt$")


def published_tags(repository: str) -> list[str]:
    return list(record()[repository]["tags"])


def log(message: str) -> None:
    print(f"standins: {message}", file=sys.stderr, flush=True)


def run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[bytes]:
    done: subprocess.CompletedProcess[bytes] = subprocess.run(command, check=True, **kwargs)  # type: ignore[call-overload]
    return done


def image_exists(docker: str, name: str) -> bool:
    found = subprocess.run([docker, "image", "inspect", name], capture_output=True, check=False)
    return found.returncode == 0


def is_standin(docker: str, name: str) -> bool:
    labels = subprocess.run(
        [
            docker,
            "image",
            "inspect",
            "--format",
            f'{{{{index .Config.Labels "{STANDIN_LABEL}"}}}}',
            name,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return labels.stdout.strip() == "true"


def rootfs(debian: str) -> Path:
    """A trimmed Debian minbase tree, made once and kept in the cache."""
    root = CACHE / f"rootfs-{debian}"
    with locks.artefact(root.name):
        if not (root / "etc" / "debian_version").exists():
            _debootstrap(root, debian)
    return root


def _debootstrap(root: Path, debian: str) -> None:
    locks.remove_tree(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    mirror = debian_mirror()
    log(f"debootstrap {debian} from {mirror} (about 40 s)")
    partial = root.with_name(root.name + ".partial")
    locks.remove_tree(partial)
    locks.debootstrap(debian, DEBIAN_PACKAGES, partial, mirror)
    for junk in (
        "var/lib/apt/lists",
        "var/cache/apt",
        "usr/share/doc",
        "usr/share/man",
        "usr/share/info",
        "usr/share/locale",
        "var/log",
    ):
        shutil.rmtree(partial / junk, ignore_errors=True)
        (partial / junk).mkdir(parents=True)
    shutil.copyfile(HOST_CA_BUNDLE, partial / "etc/ssl/certs/ca-certificates.crt")
    partial.rename(root)


def python_tree(version: str, debian: str, scratch: Path) -> Path:
    """A root file system with CPython {version} as the official image has it."""
    tree = scratch / f"python{version}"
    source = pythons.pyenv_python(version)
    if source is not None:
        log(f"python:{version}: Debian {debian} + CPython from {source}")
        run(["cp", "-a", str(rootfs(debian)), str(tree)])
        install_python(source, tree, version)
        return tree
    # Debian's own package, in the sid root that has it; other versions' packages removed.
    log(f"python:{version}: Debian {pythons.DEBIAN_SUITE} + its python{version} package")
    others = [v for v in pythons.DEBIAN_PYTHONS if v != version]
    run(["cp", "-a", str(pythons.debian_root(debian_mirror())), str(tree)])
    run(
        [
            "chroot",
            str(tree),
            "dpkg",
            "--purge",
            *(
                name.format(v)
                for v in others
                for name in ("python{}", "python{}-minimal", "libpython{}-stdlib")
            ),
            *(f"libpython{v}-minimal" for v in others),
        ],
        stdout=subprocess.DEVNULL,
    )
    local_bin = tree / "usr" / "local" / "bin"
    for name in (f"python{version}", "python3", "python"):
        (local_bin / name).symlink_to(f"/usr/bin/python{version}")
    shutil.copyfile(HOST_CA_BUNDLE, tree / "etc/ssl/certs/ca-certificates.crt")
    return tree


def install_python(source: Path, root: Path, version: str) -> None:
    """Copy a CPython tree to root/usr/local as the official images lay it out."""
    local = root / "usr" / "local"
    stdlib = f"lib/python{version}"

    def ignore(folder: str, names: list[str]) -> set[str]:
        relative = Path(folder).relative_to(source).as_posix()
        if relative == "bin":
            return {n for n in names if not KEPT_SCRIPTS.match(n)}
        if relative == f"{stdlib}/site-packages":
            return {n for n in names if not KEPT_PACKAGES.match(n)}
        skipped = {"__pycache__", "test"} if relative == stdlib else {"__pycache__"}
        return skipped & set(names)

    shutil.copytree(source, local, symlinks=True, ignore=ignore, dirs_exist_ok=True)
    old = f"#!{source}/bin/".encode()
    for script in (local / "bin").iterdir():
        if script.is_file() and not script.is_symlink():
            text = script.read_bytes()
            if text.startswith(old):
                script.write_bytes(b"#!/usr/local/bin/" + text[len(old) :])
    run(["chroot", str(root), "ldconfig"])


def docker_import(docker: str, tree: Path, names: list[str]) -> None:
    changes = [
        f"ENV PATH={PATH_IN_IMAGE}",
        "ENV LANG=C.UTF-8",
        "ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
        f"LABEL {STANDIN_LABEL}=true",
        'CMD ["python3"]',
    ]
    tar = subprocess.Popen(["tar", "-C", str(tree), "-c", "."], stdout=subprocess.PIPE)
    command = [docker, "import", *(a for c in changes for a in ("-c", c)), "-", names[0]]
    run(command, stdin=tar.stdout, stdout=subprocess.DEVNULL)
    if tar.wait() != 0:
        raise SystemExit(f"standins: tar of {tree} failed")
    for alias in names[1:]:
        run([docker, "tag", names[0], alias])


def build(docker: str, dockerfile: str, context: Path, name: str) -> None:
    env = {**os.environ, "DOCKER_BUILDKIT": "1"}
    run(
        [docker, "build", "-q", "-t", name, "-f", "-", str(context)],
        input=dockerfile.encode(),
        env=env,
        stdout=subprocess.DEVNULL,
    )


def uv_binaries(uv_version: str, folder: Path) -> Path:
    """uv and uvx from uv's manylinux wheel on PyPI: the same static binaries as uv's image."""
    index = urllib.request.Request(
        "https://pypi.org/simple/uv/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    with urllib.request.urlopen(index) as answer:  # noqa: S310 (a fixed https URL)
        files = json.load(answer)["files"]
    wheel = re.compile(
        rf"uv-{re.escape(uv_version)}-py3-none-manylinux.*_{platform.machine()}\.whl"
    )
    chosen = next(f for f in files if wheel.fullmatch(f["filename"]))
    with urllib.request.urlopen(chosen["url"]) as answer:  # noqa: S310 (from the index)
        content = answer.read()
    if hashlib.sha256(content).hexdigest() != chosen["hashes"]["sha256"]:
        raise SystemExit(f"standins: {chosen['filename']} does not match PyPI's sha256")
    wheel_path = folder / chosen["filename"]
    wheel_path.write_bytes(content)
    out = folder / "uv"
    out.mkdir()
    with zipfile.ZipFile(wheel_path) as archive:
        for member in archive.namelist():
            if re.fullmatch(r"uv-[^/]+\.data/scripts/(uv|uvx)", member):
                target = out / Path(member).name
                target.write_bytes(archive.read(member))
                target.chmod(0o755)
    return out


class Recipe(NamedTuple):
    """How a stand-in is made: "python" (a CPython root), "uv" (uv's binaries FROM scratch),
    "uv-python" (the python stand-in `base` plus uv), for one Python version, or "distroless"
    (lab/distroless.py, one Python)."""

    kind: str
    python: str = ""
    base: str = ""


def recipes(uv_version: str, debian: str) -> dict[str, Recipe]:
    """Every image a generated project can start a stage from, under the name copier.yml
    computes for it (lab/template.py), with the recipe of its stand-in."""
    table: dict[str, Recipe] = {}
    for version in PYTHON_CHOICES:
        names = computed(python_version=version, uv_version=uv_version, debian_release=debian)
        slim = str(names["slim_image"])
        table[slim] = Recipe("python", version)
        table[str(names["uv_python_image"])] = Recipe("uv-python", version, slim)
        table[str(names["uv_image"])] = Recipe("uv")
    repository = str(computed()["distroless_image"])
    for tag in published_tags(repository):
        table[f"{repository}:{tag}"] = Recipe("distroless", distroless.PYTHON)
    return table


def wanted(versions: list[str], uv_version: str, debian: str) -> set[str]:
    """The published images a Dockerfile of these Pythons can start a stage from, for any
    base_image the questions accept with them: its builder's, its final stage's, its dev
    stage's, uv's."""
    unknown = sorted(set(versions) - set(PYTHON_CHOICES))
    if unknown:
        raise SystemExit(f"standins: {', '.join(unknown)}: not a python_version of copier.yml")
    names = {
        str(image)
        for base_image in BASE_IMAGES
        for version in versions
        if accepted_pair(base_image, version)
        for values in [
            computed(
                base_image=base_image,
                python_version=version,
                uv_version=uv_version,
                debian_release=debian,
            )
        ]
        for image in (
            values["runtime_image"],
            values["uv_image"],
            values["base_images"][base_image]["dev"],  # type: ignore[index]
        )
        if image != "builder"
    }
    # What no registry publishes is never wanted: no generated project can name it.
    return {name for name in names if published(name)}


def base_images(uv_version: str, debian: str) -> set[str]:
    """Every published image that a Dockerfile of any python_version can start from: what a
    data root of ours keeps between runs (lab/engine.py's reclaim())."""
    return wanted(sorted(PYTHON_CHOICES), uv_version, debian)


def ensure(
    docker: str,
    versions: list[str],
    uv_version: str,
    debian: str = "trixie",
    pull_only: bool = False,
) -> set[str]:
    """Make sure every published base image exists: kept if present, pulled if possible, else
    stood in (unless pull_only). Returns the names that are stand-ins."""
    images = wanted(versions, uv_version, debian)
    # One maker per engine at a time: two workers, or a run beside the benchmark, share it.
    with locks.artefact(f"standins-{engine_id(docker)}"):
        missing = []
        for name in sorted(images):
            if image_exists(docker, name):
                continue
            pulled = subprocess.run([docker, "pull", "-q", name], capture_output=True, check=False)
            if pulled.returncode != 0:
                missing.append(name)
        if missing and pull_only:
            raise SystemExit(f"standins: cannot pull {', '.join(missing)} and stand-ins are off")
        if missing:
            log(f"cannot pull {', '.join(missing)}: building stand-ins")
            with tempfile.TemporaryDirectory(prefix="standins-") as scratch:
                make(docker, missing, uv_version, debian, Path(scratch))
    return {name for name in images if is_standin(docker, name)}


def engine_id(docker: str) -> str:
    """The engine's own ID (`docker info`), or its address when it gives none."""
    info = subprocess.run(
        [docker, "info", "--format", "{{.ID}}"], capture_output=True, text=True, check=False
    )
    return info.stdout.strip() or os.environ.get("DOCKER_HOST", "default")


def make(docker: str, names: list[str], uv_version: str, debian: str, scratch: Path) -> None:
    table = recipes(uv_version, debian)
    uv = None
    # Python images first: uv's images with Python are built on them.
    for name in sorted(names, key=lambda n: table[n].kind != "python" if n in table else True):
        if not published(name):
            raise SystemExit(f"standins: {name} is not in {RECORD.name}: no stand-in for it")
        recipe = table.get(name)
        if recipe is None:
            raise SystemExit(f"standins: no recipe for {name}")
        if recipe.kind == "distroless":
            repository = name.rsplit(":", 1)[0]
            if not image_exists(docker, name):
                log(f"{repository}: Debian {distroless.SUITE}'s packages, as distroless lists them")
                distroless.make(
                    docker, repository, published_tags(repository), HOST_CA_BUNDLE, STANDIN_LABEL
                )
            continue
        if recipe.kind == "python":
            tree = python_tree(recipe.python, debian, scratch)
            docker_import(docker, tree, [name])
            shutil.rmtree(tree)
            continue
        uv = uv or uv_binaries(uv_version, scratch)
        if recipe.kind == "uv":
            log(f"{name}: uv {uv_version} from its PyPI wheel")
            dockerfile = f"FROM scratch\nCOPY uv uvx /\nLABEL {STANDIN_LABEL}=true\n"
        else:
            if not image_exists(docker, recipe.base):
                make(docker, [recipe.base], uv_version, debian, scratch)
            log(f"{name}: {recipe.base} + uv {uv_version}")
            dockerfile = f"FROM {recipe.base}\nCOPY uv uvx /usr/local/bin/\n"
        build(docker, dockerfile, uv, name)
