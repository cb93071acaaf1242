"""The registry record, the image references a generated project names, and the registries.

`record()` is published-images.yml, read once: what the registries publish for the template's
pins (copier.yml includes the same file, for its validators); `published(reference)` says
whether it lists a reference, for the tests and the stand-in builder alike.
`references(project)` finds every image a project names: the Dockerfile's `FROM` and
`COPY --from=`, the CI jobs' images and services and the images their scripts `docker run`,
compose's images, the devcontainer's.
`manifest_exists(reference)` asks the registry itself (the distribution API, anonymous pull
token), as `docker manifest inspect` would, without needing a Docker client.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from functools import cache
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

from lab.paths import ROOT

RECORD = ROOT / "published-images.yml"

MANIFESTS = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)
TIMEOUT = 20


@cache
def record() -> dict[str, dict[str, Any]]:
    """published-images.yml: {repository: {"tags": [...], "source": ..., "read": ...}}."""
    published: dict[str, dict[str, Any]] = yaml.safe_load(RECORD.read_text())["published_images"][
        "default"
    ]
    return published


def published(name: str) -> bool:
    """Whether published-images.yml lists this `repository:tag` reference."""
    repository, _, tag = name.rpartition(":")
    return tag in record().get(repository, {}).get("tags", [])


def _yaml_images(node: Any) -> list[str]:
    """Every `image:` value (a string, or a mapping's `name`) anywhere in a YAML document."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "image" and isinstance(value, str):
                found.append(value)
            elif key == "image" and isinstance(value, dict) and "name" in value:
                found.append(value["name"])
            elif key == "services" and isinstance(value, list):
                found += [v if isinstance(v, str) else v.get("name", "") for v in value]
            else:
                found += _yaml_images(value)
    elif isinstance(node, list):
        for item in node:
            found += _yaml_images(item)
    return found


def references(project: Path) -> dict[str, set[str]]:
    """{file: image references} for every file of the project that names images."""
    found: dict[str, set[str]] = {}
    for dockerfile in project.rglob("Dockerfile"):
        text = dockerfile.read_text()
        stages = set(re.findall(r"^FROM \S+ AS (\S+)", text, re.M | re.I))
        names = re.findall(r"^FROM (\S+)", text, re.M | re.I)
        names += re.findall(r"^COPY\b.*?--from=(\S+)", text, re.M | re.I)
        found[dockerfile.relative_to(project).as_posix()] = {n for n in names if n not in stages}
    for path in [
        *project.glob("*.y*ml"),
        *project.glob(".*.y*ml"),
        *project.glob(".github/**/*.yml"),
    ]:
        document = yaml.safe_load(path.read_text())
        if path.parent.name == "workflows":
            # GitHub names images only in a job's container and services.
            jobs = (document.get("jobs") or {}).values()
            document = [
                {"image": job.get("container"), "services": job.get("services")}
                if isinstance(job.get("container"), str)
                else {"container": job.get("container"), "services": job.get("services")}
                for job in jobs
            ]
        images = set(_yaml_images(document))
        if path.name.startswith("compose"):
            # A service that is built names its own local image, not a registry's.
            built = {
                s.get("image") for s in (document.get("services") or {}).values() if "build" in s
            }
            images -= built
        # Images a step runs: `uses: docker://...` (GitHub), `docker run [--flags] IMAGE` (scripts).
        text = path.read_text()
        uses = re.findall(r"uses: docker://(\S+)", text)
        uses += re.findall(r"docker run (?:--?[\w-]+ )*([\w./-]+:[\w.-]+)", text)
        if images or uses:
            found[path.relative_to(project).as_posix()] = images | set(uses)
    for config in project.glob(".devcontainer/*.json"):
        image = json.loads(config.read_text()).get("image")
        if image:
            found[config.relative_to(project).as_posix()] = {image}
    return found


def split(reference: str) -> tuple[str, str, str]:
    """(registry host, repository, tag) of a reference, Docker Hub's defaults filled in."""
    name, _, tag = reference.rpartition(":")
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        host, repository = first, rest
    else:
        host, repository = "registry-1.docker.io", name
    if host == "registry-1.docker.io" and "/" not in repository:
        repository = f"library/{repository}"
    return host, repository, tag


def _token(challenge: str) -> str:
    """An anonymous pull token from the realm a registry's 401 names."""
    fields = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
    query = urllib.parse.urlencode({k: v for k, v in fields.items() if k in {"service", "scope"}})
    with urllib.request.urlopen(f"{fields['realm']}?{query}", timeout=TIMEOUT) as answer:  # noqa: S310
        body = json.load(answer)
    return str(body.get("token") or body.get("access_token"))


def manifest_exists(reference: str) -> bool:
    """Whether the registry serves a manifest for this reference (raises OSError if unreachable)."""
    host, repository, tag = split(reference)
    url = f"https://{host}/v2/{repository}/manifests/{tag}"
    headers = {"Accept": MANIFESTS}
    for _ in range(2):
        request = urllib.request.Request(url, headers=headers, method="HEAD")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT):  # noqa: S310
                return True
        except urllib.error.HTTPError as error:
            if error.code == 401 and "Authorization" not in headers:
                headers["Authorization"] = f"Bearer {_token(error.headers['WWW-Authenticate'])}"
                continue
            if error.code == 404:
                return False
            raise
    return False
