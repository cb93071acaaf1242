"""The package kind's release from a tag vX.Y.Z (GitHub's `release` job in ci.yml, GitLab's
`release-pypi`): its own commands, run as the job's shell would, publish to a real index server
from PyPI (pypiserver) instead of PyPI; the release then installs from it with `uv pip install`
and its command runs. A tag that is not the project's version publishes nothing.

Left to the hosted runners (docs/testing.md): the OIDC exchange of trusted publishing (here the
index takes a user and password, which `uv publish` reads from UV_PUBLISH_USERNAME and
UV_PUBLISH_PASSWORD), PyPI's own checks, and GitHub's release (`gh release create`). GitLab's
release page is made through a stand-in of its Releases API (lab/gitlab_api.py).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import ci_job_lines, free_port, missing, render, run_ci_lines, run_ok, wait_for

from lab import gitlab_api


def release_lines(project: Path, ci: str) -> list[str]:
    """The release job's commands up to the upload, as its file gives them."""
    lines = ci_job_lines(project, ci, ("ci.yml", "release"), "release-pypi")
    if ci == "gitlab":
        return lines
    assert lines[0].startswith("sed ") and lines[-1].startswith("gh release create ")
    return lines[1:-1]  # the uv version for setup-uv; GitHub's release page


@pytest.fixture
def index(tmp_path: Path):
    """pypiserver on a free port, taking any user's upload into an empty folder."""
    server = shutil.which("pypi-server", path=str(Path(sys.executable).parent))
    if server is None:
        missing("pypiserver (PyPI) is not in the test environment")
    packages = tmp_path / "packages"
    packages.mkdir()
    port = free_port()
    process = subprocess.Popen(
        [server, "run", "--host", "127.0.0.1", "--port", str(port), "--authenticate", ".",
         "--passwords", ".", str(packages)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip

    def answers() -> bool:
        return subprocess.run(
            ["curl", "-sf", f"http://127.0.0.1:{port}/simple/"], capture_output=True
        ).returncode == 0  # fmt: skip

    try:
        wait_for("pypiserver", answers, 30)
        yield f"http://127.0.0.1:{port}", packages
    finally:
        process.terminate()
        process.wait(timeout=30)


# What GitLab's runner gives the job (docs.gitlab.com/ci/variables/predefined_variables).
GITLAB_JOB = {
    "CI_PROJECT_ID": "4242",
    "CI_PROJECT_URL": "https://gitlab.example.com/team/released",
    "CI_JOB_ID": "777",
    "CI_JOB_TOKEN": "job-token-of-this-job",
}


@pytest.fixture
def releases():
    """GitLab's Releases API for the project the GitLab job runs in (lab/gitlab_api.py)."""
    with gitlab_api.serving(GITLAB_JOB["CI_PROJECT_ID"], GITLAB_JOB["CI_JOB_TOKEN"]) as api:
        yield api


def run_release(
    project: Path, ci: str, tag: str, url: str, releases: gitlab_api.Releases, **runner_env: str
) -> subprocess.CompletedProcess[str]:
    if ci == "github":
        runner = {"GITHUB_REF_NAME": tag}
    else:
        runner = {**GITLAB_JOB, "CI_COMMIT_TAG": tag, "CI_API_V4_URL": releases.url}
    env = {
        **runner,
        "UV_PUBLISH_URL": f"{url}/",
        "UV_PUBLISH_USERNAME": "release",
        "UV_PUBLISH_PASSWORD": "anything",
        **runner_env,
    }
    return run_ci_lines(release_lines(project, ci), project, env)


@pytest.mark.parametrize("ci", ["github", "gitlab"])
def test_a_release_tag_publishes_the_package_and_it_installs_and_runs(
    generated, index, releases, ci, tmp_path
):
    url, packages = index
    project = generated(project_name="released", project_kind="package", ci=ci)
    done = run_release(project, ci, "v0.1.0", url, releases)
    assert done.returncode == 0, done.stdout + done.stderr
    files = ["released-0.1.0-py3-none-any.whl", "released-0.1.0.tar.gz"]
    assert sorted(p.name for p in packages.iterdir()) == files
    if ci == "gitlab":
        # GitLab's release page for the tag, linking the files the job keeps, forever.
        job = yaml.safe_load((project / ".gitlab-ci.yml").read_text())["release-pypi"]
        assert job["artifacts"] == {"paths": ["dist/"], "expire_in": "never"}
        kept = f"{GITLAB_JOB['CI_PROJECT_URL']}/-/jobs/{GITLAB_JOB['CI_JOB_ID']}/artifacts/raw"
        assert releases.made == {
            (GITLAB_JOB["CI_PROJECT_ID"], "v0.1.0"): {
                "tag_name": "v0.1.0",
                "name": "v0.1.0",
                "assets": {
                    "links": [
                        {"name": name, "url": f"{kept}/dist/{name}", "link_type": "package"}
                        for name in files
                    ]
                },
            }
        }
        assert all((project / "dist" / name).is_file() for name in files)
    venv = tmp_path / "user"
    python = (project / ".python-version").read_text().strip()
    run_ok(["uv", "venv", "--quiet", "--python", python, str(venv)], tmp_path)
    run_ok(
        ["uv", "pip", "install", "--quiet", "--python", str(venv / "bin/python"),
         "--index-url", f"{url}/simple/", "released==0.1.0"],
        tmp_path,
    )  # fmt: skip
    ran = run_ok([str(venv / "bin/released")], tmp_path)
    assert ran.stdout.startswith("Hello from released!"), ran.stdout


@pytest.mark.parametrize("ci", ["github", "gitlab"])
def test_a_tag_that_is_not_the_version_builds_and_publishes_nothing(generated, index, releases, ci):
    url, packages = index
    project = generated(project_name="released", project_kind="package", ci=ci)
    done = run_release(project, ci, "v0.2.0", url, releases)
    assert done.returncode == 1
    assert "The tag v0.2.0 is not v0.1.0, pyproject.toml's version: nothing is published." in (
        done.stdout + done.stderr
    )
    assert not (project / "dist").exists()
    assert list(packages.iterdir()) == []
    assert releases.made == {}


def test_a_release_page_gitlab_refuses_fails_the_job_after_the_upload(generated, index, releases):
    """GitLab's Releases API refusing the job's token: the job fails, saying why, rather than
    passing with no release page."""
    url, packages = index
    project = generated(project_name="released", project_kind="package", ci="gitlab")
    wrong = {"CI_JOB_TOKEN": "another job's token"}
    done = run_release(project, "gitlab", "v0.1.0", url, releases, **wrong)
    assert done.returncode != 0
    assert "HTTP Error 401: Unauthorized" in done.stderr, done.stderr
    assert releases.made == {}
    assert len(list(packages.iterdir())) == 2  # PyPI's upload came first, and stays


@pytest.mark.parametrize("kind", ["script", "service"])
def test_only_a_package_has_a_release_job(generated, kind):
    for ci in ("github", "gitlab"):
        project = generated(project_name="unreleased", project_kind=kind, ci=ci)
        if ci == "github":
            jobs = yaml.safe_load((project / ".github/workflows/ci.yml").read_text())["jobs"]
        else:
            jobs = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
        assert "release" not in jobs and "release-pypi" not in jobs


@pytest.mark.parametrize("ci", ["github", "gitlab"])
def test_the_readmes_next_release_publishes_that_version(generated, index, releases, ci):
    """The generated README's steps for the next release, typed as printed: its version
    command, then its tag, which the release job must take."""
    url, packages = index
    project = generated(project_name="released", project_kind="package", ci=ci)
    readme = (project / "README.md").read_text().split("### Release to PyPI", 1)[1]
    block = readme.split("```sh\n", 1)[1].split("```", 1)[0]
    bump, tag = (line.split("  #")[0].strip() for line in block.splitlines())
    assert bump == "uv version 1.2.0" and "git tag v1.2.0 " in tag
    run_ok(bump.split(), project)
    done = run_release(project, ci, "v1.2.0", url, releases)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "released-1.2.0.tar.gz" in {p.name for p in packages.iterdir()}


@pytest.mark.parametrize(
    ("ci", "url", "fields"),
    [
        ("github", "https://github.com/Team/my.app", "owner `Team`, repository `my.app`,"),
        ("github", "https://github.com/team/svc.git", "owner `team`, repository `svc`,"),
        ("github", "", "owner `<owner>`, repository `<repository>`,"),
        ("gitlab", "https://gitlab.com/Group/Sub/Svc/-/tree/main", "project `Group/Sub/Svc`,"),
        ("gitlab", "https://git.example.com/g/p", "project `<namespace>/<project>`,"),
    ],
)
def test_the_readme_fills_the_trusted_publishers_fields_from_the_repository_address(
    tmp_path, ci, url, fields
):
    """As PyPI's form asks them: the owner and repository (a name may hold dots), or GitLab's
    whole path; placeholders where the address is elsewhere."""
    project = render(tmp_path / "p", project_kind="package", ci=ci, repository_url=url)
    publisher = (project / "README.md").read_text().split("### Release to PyPI", 1)[1]
    assert fields in " ".join(publisher.split())
