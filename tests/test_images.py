"""Real images: every generated variant is built and run on a real Docker engine.

Base images are the official ones when a registry answers, otherwise local stand-ins built by
lab/standins.py under the same names; failure messages and the run's summary say which.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest
from answers import accepted_answers
from helpers import (
    BASE_IMAGES,
    DEFAULT_PYTHON,
    IMAGE_VARIANTS,
    KINDS,
    copier,
    copy_args,
    docker_clients,
    engines_too,
    image,
    missing,
    one_each,
    python_for,
    render,
    require_python,
    run_ok,
    slim_image,
    stand_in_note,
)
from hypothesis import given, settings

from lab import debian


def cached_steps(log: str) -> dict[str, bool]:
    """BuildKit's plain log: each RUN/COPY step's text, and whether it came from the cache."""
    names = dict(re.findall(r"^#(\d+) \[[^\]]+\] (.+)$", log, re.M))
    cached = set(re.findall(r"^#(\d+) CACHED$", log, re.M))
    return {name: number in cached for number, name in names.items()}


def layers(docker, tag: str) -> list[str]:
    """The image's layers (their digests), base first."""
    inspect = docker("image", "inspect", "--format", "{{json .RootFS.Layers}}", tag)
    return list(json.loads(inspect.stdout))


def changed_layers(before: list[str], after: list[str]) -> list[int]:
    """The positions of the layers that differ between two builds of one image."""
    return [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]


def dependency_step(steps: dict[str, bool]) -> bool:
    # The builder's step that installs the dependencies (`uv run` or, for the package kind,
    # `uv sync`), an argument list (["uv", "run", "--locked", ...]) read as words.
    words = {re.sub(r'[\[\]",]', "", name): c for name, c in steps.items()}
    (cached,) = [c for name, c in words.items() if re.search(r"\buv (run|sync) --locked ", name)]
    return cached


@pytest.mark.parametrize(
    ("base_image", "python"),
    engines_too(IMAGE_VARIANTS, *[(b, python_for(b)) for b in BASE_IMAGES]),
)
def test_image_builds_and_runs_offline_printing_the_greeting(
    docker, build, generated, base_image: str, python: str
):
    require_python(python)
    name = f"img-{base_image}-{python.replace('.', '')}"
    project = generated(project_name=name, base_image=base_image, python_version=python)
    build(project, name)
    ran = docker("run", "--rm", "--network", "none", name)
    assert re.fullmatch(rf"Hello from {name}! \(Python {re.escape(python)}\.\d+\)\n", ran.stdout), (
        f"{stand_in_note(docker, project)} printed {ran.stdout!r}"
    )


@pytest.mark.parametrize("base_image", BASE_IMAGES)
def test_image_runs_as_non_root_with_the_venv_from_the_image_itself(
    docker, build, generated, base_image: str
):
    project = generated(project_name="rootless", base_image=base_image)
    run_ok(["uv", "sync", "--locked"], cwd=project)  # a host .venv that must stay out
    (project / ".env").write_text("SECRET=do-not-ship\n")
    build(project, "rootless")

    def probe(code: str) -> str:
        """Python in the image, as its user: a distroless image has no shell, no id, no ls."""
        return docker("run", "--rm", "--network", "none", "rootless", "python", "-c", code).stdout

    assert probe("import os; print(os.getuid())") == "10001\n"
    listing = set(probe("import os; print(*os.listdir('/app'))").split())
    # What runs the app, and nothing else: no .env, tests, git or CI files. (__pycache__: the
    # code's bytecode, compiled at build, so that nothing is written at run time.)
    assert listing == {
        ".venv",
        "__pycache__",
        "README.md",
        "main.py",
        "prepare_image.py",
        "pyproject.toml",
        "uv.lock",
    }
    # The venv's interpreter is the image's own, at the path the base image has it.
    home = probe("import sys; print(open('/app/.venv/pyvenv.cfg').read(), sys._base_executable)")
    venv, base_executable = home.rsplit("\n", 2)[0], home.split()[-1]
    assert f"home = {Path(base_executable).parent}\n" in venv, f"not the image's Python:\n{home}"
    packages = probe("import importlib.util as u; print(u.find_spec('pytest') is None)")
    assert packages == "True\n", "dev dependencies were installed in the image"
    writable = probe("import os; print(os.access('/app', os.W_OK), os.access('/app/main.py', 2))")
    assert writable == "False False\n", "the app user can write its own code"


@pytest.mark.parametrize(("base_image", "kind"), one_each(BASE_IMAGES, KINDS))
def test_the_image_runs_whatever_modes_the_checkout_gave_its_files(
    docker, build, generated, tmp_path: Path, base_image: str, kind: str
):
    """A clone made under umask 077 (a hardened workstation): every file 0600 and every
    folder 0700, owned by root. The image's user reads its code all the same, and cannot
    write it."""
    made = generated(project_kind=kind, base_image=base_image)
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "Start"]):
        run_ok(["git", *command], cwd=made)
    project = tmp_path / f"umask-{kind}"
    subprocess.run(
        ["git", "clone", "-q", str(made), str(project)],
        check=True, preexec_fn=lambda: os.umask(0o077),
    )  # fmt: skip
    assert (project / "pyproject.toml").stat().st_mode & 0o777 == 0o600
    assert (project / "tests").stat().st_mode & 0o777 == 0o700
    tag = f"umask-{kind}-{base_image}"
    build(project, tag)
    if kind == "service":  # the server runs until stopped: its code and its probe import
        ran = docker(
            "run", "--rm", "--network", "none", tag, "python", "-c", "import main, healthcheck"
        )
        assert ran.returncode == 0
    else:
        ran = docker("run", "--rm", "--network", "none", tag)
        assert ran.stdout.startswith(f"Hello from {made.name}!"), ran.stdout + ran.stderr
    check = "import os; print(all(os.access(p, 4) and not os.access(p, 2) for p in os.listdir()))"
    assert docker("run", "--rm", "--network", "none", tag, "python", "-c", check).stdout == "True\n"


@pytest.mark.parametrize(
    ("base_image", "description"),
    [
        # In single quotes: backslashes, double quotes and `$` as they are.
        ("python-slim", """Say "hi" to $(id) and ${HOME} \\ `uname` — fine"""),
        # In double quotes, escaped: the apostrophe forces them.
        ("uv", """Say "hi" to $(id) and ${HOME} `uname` — it's fine"""),
    ],
)
def test_image_carries_oci_labels_with_the_description_verbatim(
    docker, build, generated, base_image: str, description: str
):
    project = generated(
        project_name="labelled",
        base_image=base_image,
        license="Apache-2.0",
        description=description,
        repository_url="https://example.org/me/labelled",
    )
    build(project, "labelled")
    inspect = docker("image", "inspect", "--format", "{{json .Config.Labels}}", "labelled")
    labels = json.loads(inspect.stdout)
    assert {
        key: labels.get(f"org.opencontainers.image.{key}")
        for key in ("title", "description", "version", "licenses", "source")
    } == {
        "title": "labelled",
        "description": description,
        "version": "0.1.0",
        "licenses": "Apache-2.0",
        "source": "https://example.org/me/labelled",
    }


@settings(max_examples=15)
@given(answers=accepted_answers())
def test_dockers_own_parser_accepts_the_dockerfile_of_every_accepted_answer(docker, answers):
    # A target no Dockerfile has: BuildKit parses the whole file, then stops on the target.
    with tempfile.TemporaryDirectory() as scratch:
        project = render(Path(scratch) / "p", **answers)
        done = docker("build", "--target", "parse-only", str(project), check=False)
    assert "parse-only" in done.stderr and "could not be found" in done.stderr, done.stderr


def test_the_parse_check_catches_a_dockerfile_docker_cannot_read(docker, tmp_path: Path):
    project = render(tmp_path / "p")
    (project / "Dockerfile").write_text("FROM scratch\nLABLE a=b\n")  # a typo
    done = docker("build", "--target", "parse-only", str(project), check=False)
    assert "could not be found" not in done.stderr


def test_slim_final_image_is_its_base_plus_the_app_without_uv_or_its_cache(
    docker, build, generated
):
    project = generated(project_name="slim-final", base_image="python-slim")
    build(project, "slim-final")
    probe = docker(
        "run", "--rm", "slim-final", "sh", "-c", "command -v uv; ls /root/.cache 2>/dev/null; true"
    )
    assert probe.stdout == "", f"uv or its cache reached the final image: {probe.stdout}"

    overhead = docker.image_size("slim-final") - docker.image_size(slim_image(DEFAULT_PYTHON))
    assert 0 < overhead < 5_000_000, f"{overhead} bytes over the base image"


# Import every dependency, as the builder's warm-up does; then list the standard modules that
# loaded from source files without bytecode beside them (frozen modules need none).
DEPENDENCIES_WITHOUT_BYTECODE = """
import importlib, importlib.util, os, pkgutil, site, sys, sysconfig
for found in pkgutil.iter_modules(site.getsitepackages()):
    importlib.import_module(found.name)
stdlib = sysconfig.get_path("stdlib") + "/"
loaded = [m for m in list(sys.modules.values()) if getattr(m, "__spec__", None)]
sources = [m.__spec__.origin for m in loaded if m.__spec__.origin not in (None, "frozen")]
ours = [f for f in sources if f.startswith(stdlib) and f.endswith(".py")]
print(len(ours), *(f for f in ours if not os.path.exists(importlib.util.cache_from_source(f))))
"""


@pytest.mark.parametrize("base_image", BASE_IMAGES)
def test_the_image_ships_the_standard_bytecode_its_dependencies_import(
    docker, built, base_image: str
):
    """The base images ship the standard library without bytecode and the app's user cannot
    write it: without the builder's warm-up, every start would compile these modules again."""
    _, tag = built(base_image, kind="service")
    probe = ["python", "-c", DEPENDENCIES_WITHOUT_BYTECODE]
    ran = docker("run", "--rm", "--network", "none", tag, *probe)
    imported, *missing = ran.stdout.split()
    assert int(imported) > 100 and not missing, f"no bytecode for {missing}"
    whoami = "import os, pwd; print(pwd.getpwuid(os.getuid()).pw_name, os.getuid())"
    user = docker("run", "--rm", "--network", "none", tag, "python", "-c", whoami)
    assert user.stdout.split() == ["app", "10001"]
    overhead = docker.image_size(tag) - docker.image_size(
        image("runtime_image", base_image=base_image)
    )
    # The service's dependencies (FastAPI, uvicorn, pydantic: about 17 MB), the code, and the
    # bytecode of what they import: a few MB, not the whole standard library's.
    assert overhead < 25_000_000, f"{overhead} bytes over the base image"


def test_uv_image_keeps_uv_usable_at_run_time_by_the_unprivileged_user(docker, build, generated):
    project = generated(project_name="uv-runtime", base_image="uv")
    build(project, "uv-runtime")
    ran = docker("run", "--rm", "--network", "none", "uv-runtime", "uv", "run", "python", "main.py")
    assert ran.stdout.startswith("Hello from uv-runtime!"), ran.stderr


@pytest.mark.parametrize("base_image", BASE_IMAGES)
def test_dependency_added_with_uv_add_is_importable_in_the_container(
    docker, build, generated, base_image: str
):
    project = generated(project_name="with-dep", base_image=base_image)
    run_ok(["uv", "add", "--quiet", "markupsafe"], cwd=project)
    build(project, "with-dep")
    imported = docker(
        "run",
        "--rm",
        "--network",
        "none",
        "with-dep",
        "python",
        "-c",
        "import markupsafe; print(markupsafe.escape('<ok>'))",
    )
    assert imported.stdout == "&lt;ok&gt;\n"


@pytest.mark.parametrize("base_image", engines_too(BASE_IMAGES, "python-slim"))
def test_code_change_reuses_the_dependency_layer_and_a_lock_change_rebuilds_it(
    docker, build, generated, base_image: str
):
    # A name never built before, so that no step is cached from an earlier run
    # (the engine's build cache outlives the tests): the name is in pyproject.toml and uv.lock.
    name = f"layers-{uuid.uuid4().hex[:12]}"
    project = generated(project_name=name, base_image=base_image)
    build(project, name)
    before = layers(docker, name)
    main = project / "main.py"
    main.write_text(main.read_text().replace("Hello from", "Hi from"))
    after_code_change = cached_steps(build(project, name))
    assert dependency_step(after_code_change), after_code_change
    assert not after_code_change["COPY --chmod=0755 . /src"], "the code change was not seen"
    assert docker("run", "--rm", name).stdout.startswith(f"Hi from {name}!")
    # One layer changed, the code's (its step alone was not cached); every other, the venv's
    # too, is the one built before (the image starts from the builder itself).
    after = layers(docker, name)
    changed = changed_layers(before, after)
    assert len(changed) == 1, f"layers {changed} of {len(after)} changed with the code"

    run_ok(["uv", "add", "--quiet", "six"], cwd=project)
    after_lock_change = cached_steps(build(project, name))
    assert not dependency_step(after_lock_change), after_lock_change


@pytest.mark.parametrize("base_image", BASE_IMAGES)
def test_package_code_change_rebuilds_its_wheel_from_the_new_code_and_nothing_else(
    docker, build, built, base_image: str
):
    project, tag = built(base_image, "package")
    before = layers(docker, tag)
    code = project / "src" / tag.replace("-", "_") / "__init__.py"
    code.write_text(code.read_text().replace("Hello from", "Hi from"))
    after_code_change = cached_steps(build(project, tag))
    assert dependency_step(after_code_change), after_code_change
    # Built from this code: no wheel of the code before it, from uv's cache or BuildKit's.
    assert docker("run", "--rm", "--network", "none", tag).stdout.startswith(f"Hi from {tag}!")
    after = layers(docker, tag)
    changed = changed_layers(before, after)
    assert changed == [len(after) - 2, len(after) - 1], (
        f"layers {changed} of {len(after)} changed: expected the package's and the code's, last"
    )


def assert_built_at_copy(docker, project: Path, env: dict[str, str]) -> None:
    """`docker_build=true` built the image, tagged with the project's name, and it runs."""
    tag = project.name
    docker("image", "rm", "--force", tag, check=False)
    result = copier(*copy_args(project, docker_build=True), env=env)
    try:
        assert result.returncode == 0, result.stderr
        assert "The project is kept" not in result.stderr, result.stderr
        ran = docker("run", "--rm", "--network", "none", tag)
        assert ran.stdout.startswith(f"Hello from {tag}!")
    finally:
        docker("image", "rm", "--force", tag, check=False)


@pytest.mark.engines  # the hook's BuildKit check and build, by this client
def test_docker_build_answer_builds_the_image_tagged_with_the_project_name(
    tmp_path: Path, docker, docker_first_on_path
):
    assert_built_at_copy(docker, tmp_path / "built-at-copy", docker_first_on_path)


def test_failed_build_at_copy_keeps_the_project_and_says_what_to_run(
    tmp_path: Path, docker, docker_first_on_path
):
    # A real build failure: the user's Docker defaults to a platform no base image has here.
    project = tmp_path / "failing"
    env = {**docker_first_on_path, "DOCKER_DEFAULT_PLATFORM": "linux/s390x"}
    result = copier(*copy_args(project, docker_build=True), env=env)
    assert result.returncode == 0, result.stderr
    assert "`docker build` failed" in result.stderr
    assert "    docker build -t failing .\n" in result.stderr
    assert (project / "uv.lock").is_file() and (project / "Dockerfile").is_file()
    assert docker("image", "inspect", "failing", check=False).returncode != 0


@pytest.mark.engines
def test_without_buildkit_the_hook_says_so_before_building(
    tmp_path: Path, docker, docker_first_on_path
):
    # Docker's legacy builder cannot do `RUN --mount`: the hook does not even try.
    project = tmp_path / "legacy"
    env = {**docker_first_on_path, "DOCKER_BUILDKIT": "0"}
    result = copier(*copy_args(project, docker_build=True), env=env)
    assert result.returncode == 0, result.stderr
    assert "the image needs BuildKit (the Dockerfile uses `RUN --mount`)" in result.stderr
    assert "DOCKER_BUILDKIT=0 selects Docker's legacy builder" in result.stderr
    assert "apt-get install docker-buildx" in result.stderr
    assert "running docker build" not in result.stderr and "build -t legacy ." in result.stderr
    assert docker("image", "inspect", "legacy", check=False).returncode != 0


def test_docker_20_10_with_buildx_installed_still_builds_at_copy_with_buildkit(
    tmp_path: Path, docker, docker_first_on_path
):
    # Debian 12's client keeps the legacy builder by default even beside the buildx plugin:
    # a check for buildx alone would let `RUN --mount` reach the legacy builder and fail.
    client = docker_clients().get("debian-12")
    if client is None:
        missing("no Debian 12 Docker client (apt-get install docker.io, on bookworm)")
    version = subprocess.run([client, "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("Docker version 20.10."), version.stdout
    bin_folder = Path(docker_first_on_path["PATH"].split(os.pathsep)[0])
    (bin_folder / "docker").unlink()
    (bin_folder / "docker").symlink_to(client)
    config = debian.cli_plugins(tmp_path / "docker-config", None)
    env = {key: value for key, value in docker_first_on_path.items() if key != "DOCKER_BUILDKIT"}
    env["DOCKER_CONFIG"] = str(config)
    assert subprocess.run([client, "buildx", "version"], env=env, check=False).returncode == 0
    assert_built_at_copy(docker, tmp_path / "old-client", env)


def test_a_stale_lock_fails_the_build_with_uvs_one_line_hint_in_view(docker, generated):
    """pyproject.toml changed, uv.lock not: the build stops at the dependencies, and uv's
    reason is among the last lines of the log, not buried under the step's own echo."""
    project = generated(project_name="stale-lock")
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text()
    assert "dependencies = [" in text
    pyproject.write_text(text.replace("dependencies = [", 'dependencies = [\n    "six",', 1))
    done = docker("build", "--progress=plain", "-t", "stale-lock", str(project), check=False)
    assert done.returncode != 0
    lines = done.stderr.splitlines()
    (hint,) = [i for i, line in enumerate(lines) if "needs to be updated" in line]
    assert len(lines) - hint <= 12, "\n".join(lines[hint:])
    assert "import importlib" not in done.stderr  # no program echoed with the failing step
