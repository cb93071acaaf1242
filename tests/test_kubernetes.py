"""deploy/kubernetes.yaml, the service kind's manifests: valid for the Kubernetes versions
upstream supports, clean under a security linter users run, naming the image CI pushes for a
release, and run by a real client, `podman kube play`, on every base image.

What Podman 4.3 does not do as a cluster would (docs/testing.md, "Kubernetes"): it runs every
replica on this one host, each publishing the container's port there, so the test plays one
replica; it turns an httpGet probe into `curl` run inside the container by systemd timers
(none here, and our images have no curl) and ignores readiness probes, so the test probes
/health as the kubelet does, from the node to the pod's address; it stops a container with
the image's STOPSIGNAL, so the test sends the SIGTERM a kubelet sends.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import yaml
from helpers import BASE_IMAGES, free_port, missing, render, run_ok, wait_for
from test_answers import assert_kubernetes_names
from test_update import (
    LAST_LANDED,
    assert_clean_merge,
    commit_all,
    git,
    project_from_v1,
    template_from,
    update,
)

from lab import locks

# The three minor releases upstream maintains ("The Kubernetes project maintains release
# branches for the most recent three minor releases": kubernetes.io/releases/version-skew-policy),
# the newest being the one kubernetes-validate 1.37.0 (PyPI) validates against by default.
KUBERNETES_VERSIONS = ("1.35.0", "1.36.0", "1.37.0")
VALIDATOR = "kubernetes-validate==1.37.0"
LINTER = "checkov==3.3.30"


def tool(spec: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """A tool from PyPI at a pinned version, as `uvx --from SPEC` runs it (.ci/run warms it), on
    this Python: a newer one may have no wheel for what the tool needs."""
    uvx = shutil.which("uvx")
    if uvx is None:
        missing(f"uvx is not installed, for `uvx --from {spec}`")
    command = spec.split("==")[0]
    return subprocess.run(
        [uvx, "--from", spec, "--python", sys.executable, command, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


def manifests(project: Path) -> list[dict]:
    return list(yaml.safe_load_all((project / "deploy" / "kubernetes.yaml").read_text()))


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> Path:
    return render(
        tmp_path_factory.mktemp("k8s") / "svc",
        project_name="my-svc",
        project_kind="service",
        port="8080",
        repository_url="https://github.com/Team/My-Svc",
    )


def test_only_a_service_gets_manifests(tmp_path: Path):
    for kind in ("script", "package"):
        assert not (render(tmp_path / kind, project_kind=kind) / "deploy").exists()


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_the_manifests_validate_strictly_against_each_supported_kubernetes(service, version):
    done = tool(VALIDATOR, "--strict", "-k", version, "deploy/kubernetes.yaml", cwd=service)
    assert done.returncode == 0, done.stdout + done.stderr
    minor = version.rsplit(".", 1)[0]
    for kind in ("deployment", "service", "poddisruptionbudget", "networkpolicy"):
        assert f"passed for resource {kind}/my-svc against version {minor}" in done.stdout


def test_the_validator_refuses_a_misspelt_field(service, tmp_path: Path):
    """The check above can fail: one wrong capital, and the strict schema says where."""
    text = (service / "deploy" / "kubernetes.yaml").read_text()
    (tmp_path / "bad.yaml").write_text(
        text.replace("readOnlyRootFilesystem", "readOnlyRootFileSystem")
    )
    done = tool(VALIDATOR, "--strict", "-k", KUBERNETES_VERSIONS[-1], "bad.yaml", cwd=tmp_path)
    assert done.returncode != 0
    assert "'readOnlyRootFileSystem' was unexpected" in done.stdout + done.stderr


def test_checkov_finds_nothing_and_every_skip_says_why(service):
    done = tool(
        LINTER, "--skip-download", "--framework", "kubernetes", "--output", "json",
        "--file", "deploy/kubernetes.yaml", cwd=service,
    )  # fmt: skip
    report = json.loads(done.stdout)
    results = report["results"]
    assert results["failed_checks"] == [], [c["check_id"] for c in results["failed_checks"]]
    assert len(results["passed_checks"]) > 50, "checkov read the manifests"
    skipped = {
        c["check_id"]: c["check_result"]["suppress_comment"] for c in results["skipped_checks"]
    }
    assert set(skipped) == {"CKV_K8S_15", "CKV_K8S_21", "CKV_K8S_43"}, skipped
    assert all(len(reason) > 20 for reason in skipped.values()), skipped


def test_the_pods_run_under_the_restricted_profile_with_probes_on_health(service):
    deployment, svc, budget, policy = manifests(service)
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 10001,
        "runAsGroup": 10001,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
    }
    assert container["ports"] == [{"name": "http", "containerPort": 8080}]
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/health", "port": "http"}
    assert svc["spec"]["ports"][0]["targetPort"] == "http"
    assert budget["spec"]["minAvailable"] < deployment["spec"]["replicas"]
    assert policy["spec"]["ingress"] == [{"ports": [{"port": "http"}]}]
    selector = {"app.kubernetes.io/name": "my-svc"}
    assert deployment["spec"]["template"]["metadata"]["labels"] == selector
    assert svc["spec"]["selector"] == budget["spec"]["selector"]["matchLabels"] == selector


@pytest.mark.parametrize(
    ("ci", "url", "image"),
    [
        ("github", "https://github.com/Team/My-Svc", "ghcr.io/team/my-svc"),
        ("github", "https://github.com/team/svc.git", "ghcr.io/team/svc"),
        ("github", "https://github.com/team/svc/tree/main", "ghcr.io/team/svc"),
        ("gitlab", "https://gitlab.com/Group/Sub/Svc", "registry.gitlab.com/group/sub/svc"),
        ("gitlab", "https://gitlab.com/group/svc/-/tree/main", "registry.gitlab.com/group/svc"),
        ("github", "https://git.example.com/team/svc", "my-svc"),
        ("gitlab", "https://git.example.com/team/svc", "my-svc"),
        ("none", "https://github.com/team/svc", "my-svc"),
        ("github", "", "my-svc"),
    ],
)
def test_the_manifest_names_the_image_ci_pushes_for_the_release_tag(tmp_path, ci, url, image):
    """GitHub pushes ghcr.io/${GITHUB_REPOSITORY,,}, GitLab $CI_REGISTRY_IMAGE, both tagged
    X.Y.Z from a tag vX.Y.Z (tests/test_registry_push.py): the project's version here. Where the
    address tells neither, the local tag `docker build -t` gives."""
    project = render(
        tmp_path / "p", project_name="my-svc", project_kind="service", ci=ci, repository_url=url
    )
    (container,) = manifests(project)[0]["spec"]["template"]["spec"]["containers"]
    assert container["image"] == f"{image}:0.1.0"
    text = (project / "deploy" / "kubernetes.yaml").read_text()
    assert text.count(":0.1.0") == 1, "the release is named in one place"


# ── Run by Podman ──────────────────────────────────────────────────────────────────────────


def pod_address(podman: list[str], env: dict[str, str], container: str) -> str:
    done = run_ok(
        [*podman, "inspect", container, "--format",
         "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}"],
        Path.cwd(), env=env,
    )  # fmt: skip
    return done.stdout.strip()


def answers(address: str, port: int, path: str) -> bool:
    """What a kubelet's httpGet probe counts as success: a status from 200 to 399."""
    try:
        with urllib.request.urlopen(f"http://{address}:{port}{path}", timeout=2) as answer:
            return 200 <= answer.status < 400
    except OSError:
        return False


@pytest.mark.parametrize("base_image", BASE_IMAGES)
def test_podman_kube_play_runs_the_service_restricted_and_it_stops_on_sigterm(
    podman, podman_env, docker, built, tmp_path, base_image
):
    port = free_port()
    project, tag = built(base_image, kind="service", port=str(port))
    env = podman_env
    # Nothing written at run time, bytecode included: on a writable root, the running service
    # and its health check leave the container's file system as the image made it.
    running = docker("run", "-d", tag).stdout.strip()
    try:
        wait_for("the health check", lambda: docker("exec", running, "python", "healthcheck.py",
                                                    check=False).returncode == 0, 60)  # fmt: skip
        assert docker("diff", running).stdout == ""
        # The code's bytecode is in the image: no start compiles it again (nor could write it).
        for module in ("main", "healthcheck"):
            cached = f"import os, {module}; print(os.path.isfile({module}.__cached__))"
            assert docker("exec", running, "python", "-c", cached).stdout.strip() == "True"
    finally:
        docker("rm", "--force", running, check=False)
    (container_spec,) = manifests(project)[0]["spec"]["template"]["spec"]["containers"]
    image = container_spec["image"]
    # The image under the manifest's name, moved from the engine that built it. (Podman 4.3's
    # own `build --layers=false` deletes the uv image a stage copies from: docs/testing.md.)
    saved = subprocess.Popen([docker.client, "save", tag], env=docker.env, stdout=subprocess.PIPE)
    with locks.podman_images():
        run_ok([*podman, "load", "-q"], tmp_path, env=env, stdin=saved.stdout, timeout=300)
        assert saved.wait(timeout=60) == 0
        run_ok([*podman, "tag", f"localhost/{tag}:latest", image], tmp_path, env=env)
    played = tmp_path / "kubernetes.yaml"
    text = (project / "deploy" / "kubernetes.yaml").read_text()
    assert text.count("replicas: 2\n") == 1
    played.write_text(text.replace("replicas: 2\n", "replicas: 1\n"))  # one host: one replica
    app = f"{tag}-pod-0-app"
    try:
        run_ok([*podman, "kube", "play", str(played)], tmp_path, env=env, timeout=300)
        address = pod_address(podman, env, app)
        wait_for(
            f"/health at the pod's {address}:{port}",
            lambda: answers(address, port, "/health"),
            60,
        )
        assert answers("127.0.0.1", port, "/"), "the port answers on the host too"
        # Inside: the image's user, no capability, no privilege to gain, seccomp's filter on.
        status = run_ok(
            [*podman, "exec", app, "python", "-c", "print(open('/proc/1/status').read())"],
            tmp_path, env=env,
        ).stdout  # fmt: skip
        fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
        assert fields["Uid"].split()[0] == "10001" and fields["Gid"].split()[0] == "10001"
        assert fields["CapEff"].strip() == fields["CapPrm"].strip() == "0000000000000000"
        assert fields["NoNewPrivs"].strip() == "1" and fields["Seccomp"].strip() == "2"
        inspect = run_ok(
            [*podman, "inspect", app, "--format", "{{.HostConfig.ReadonlyRootfs}}"],
            tmp_path,
            env=env,
        )
        assert inspect.stdout.strip() == "true"

        # The SIGTERM a kubelet sends: uvicorn finishes and exits 0, within the grace period.
        # (The pod then restarts it, as a Deployment's pod does: its last exit stays recorded.)
        def last_exit() -> list[str]:
            return run_ok(
                [*podman, "inspect", app, "--format", "{{.State.FinishedAt}}|{{.State.ExitCode}}"],
                tmp_path, env=env,
            ).stdout.strip().split("|")  # fmt: skip

        grace = manifests(project)[0]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        before = last_exit()[0]
        run_ok([*podman, "kill", "--signal", "TERM", app], tmp_path, env=env)
        wait_for("the app's exit on SIGTERM", lambda: last_exit()[0] != before, grace)
        assert last_exit()[1] == "0", run_ok([*podman, "logs", app], tmp_path, env=env).stderr
    finally:
        down = subprocess.run(
            [*podman, "kube", "down", str(played)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        with locks.podman_images(removing=True):
            subprocess.run(
                [*podman, "rmi", "--force", image], env=env, capture_output=True, timeout=120
            )
    assert down.returncode == 0, down.stderr


# ── Brought by an update ───────────────────────────────────────────────────────────────────


def test_an_update_brings_deploy_to_a_service_then_keeps_the_owners_edits_there(tmp_path):
    """From the last landed version, which had no deploy/, to this tree: the manifests arrive
    whole. Then the owner scales to 3 replicas, and a later template version changes a probe:
    the update brings the probe and keeps the 3, without conflict."""
    repo = template_from(tmp_path, LAST_LANDED)
    project = project_from_v1(repo, tmp_path / "svc", "--data", "project_kind=service")
    assert not (project / "deploy").exists()
    done = update(project)
    assert done.returncode == 0, done.stderr
    assert_clean_merge(project)
    manifest = project / "deploy" / "kubernetes.yaml"
    assert "image: svc:0.1.0\n" in manifest.read_text()
    commit_all(project, "The update to v2.0.0")
    manifest.write_text(manifest.read_text().replace("replicas: 2\n", "replicas: 3\n"))
    commit_all(project, "Three replicas")
    source = repo / "template" / "deploy" / "kubernetes.yaml.jinja"
    assert source.read_text().count("periodSeconds: 5\n") == 1
    source.write_text(source.read_text().replace("periodSeconds: 5\n", "periodSeconds: 4\n"))
    commit_all(repo, "v3: readiness every 4 s")
    git(repo, "tag", "v3.0.0")
    done = update(project)
    assert done.returncode == 0, done.stderr
    assert_clean_merge(project)
    text = manifest.read_text()
    assert "replicas: 3\n" in text and "periodSeconds: 4\n" in text
    assert "replicas: 2\n" not in text and "periodSeconds: 5\n" not in text


def test_a_64_character_project_name_gives_names_kubernetes_takes(tmp_path):
    """Project names go to 64 characters; Kubernetes' object names and label values to 63."""
    name = "a" * 63 + "z"
    project = render(tmp_path / "p", project_name=name, project_kind="service")
    assert_kubernetes_names(project)
    assert {m["metadata"]["name"] for m in manifests(project)} == {"a" * 63}
    (container,) = manifests(project)[0]["spec"]["template"]["spec"]["containers"]
    assert container["image"] == f"{name}:0.1.0"  # an image name may be longer
    assert f"deployment/{'a' * 63} " in (project / "README.md").read_text()
