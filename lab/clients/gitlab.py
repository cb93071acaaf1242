"""gitlab-ci-local (lab/clients) run in a generated project, on the tests' Docker engine.

gitlab-ci-local reads the project's .gitlab-ci.yml as GitLab would, evaluates the jobs' rules
against its predefined variables (the branch from the checkout, CI_PIPELINE_SOURCE "push", the
server and project from the `origin` remote) and runs jobs in their images: it rsyncs the
tracked files and .git into a state folder, copies them into a volume through a helper
container (`sh -c "chown ... && chmod ..."`, then `docker cp`), and runs the job's script in
the job's image. Nothing is pulled when every image is already in the engine.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from lab import locks

# Where a checkout's `origin` points: gitlab-ci-local parses it into CI_SERVER_HOST,
# CI_SERVER_FQDN and CI_PROJECT_PATH. Nothing is ever sent there.
SERVER = "gitlab.example.com"
PROJECT_PATH = "team/app"
DEFAULT_BRANCH = "main"


def helper_image(docker: str, env: dict[str, str], job_image: str) -> str:
    """The image gitlab-ci-local runs its helper containers in, which copy a job's artifacts
    out with bash and rsync (its own helper, firecow/gitlab-ci-local-util, has both; it
    cannot be pulled here): the job image with Debian's rsync, built once per engine."""
    tag = "lab-gitlab-ci-local-helper:" + hashlib.sha256(job_image.encode()).hexdigest()[:12]
    with locks.artefact(tag):
        found = subprocess.run([docker, "image", "inspect", tag], env=env, capture_output=True)
        if found.returncode != 0:
            dockerfile = (
                f"FROM {job_image}\n"
                "RUN apt-get update -qq && apt-get install -qq -y --no-install-recommends rsync"
                " && rm -rf /var/lib/apt/lists/*\n"
            )
            subprocess.run(
                [docker, "build", "-q", "-t", tag, "-"],
                input=dockerfile, env=env, capture_output=True, text=True, check=True,
            )  # fmt: skip
    return tag


def checkout(project: Path) -> None:
    """Make the project a committed GitLab checkout on the default branch, as a runner's clone
    is: one commit, `origin` on the GitLab server, its default branch fetched (what `changes:`
    rules compare with) and named by origin/HEAD."""
    for command in (
        ["git", "init", "-q", "-b", DEFAULT_BRANCH],
        ["git", "add", "-A"],
        [
            "git",
            "-c",
            "user.name=Owner",
            "-c",
            "user.email=owner@example.com",
            "commit",
            "-q",
            "--no-verify",
            "-m",
            "Generated",
        ],
        ["git", "remote", "add", "origin", f"https://{SERVER}/{PROJECT_PATH}.git"],
        ["git", "update-ref", f"refs/remotes/origin/{DEFAULT_BRANCH}", "HEAD"],
        [
            "git",
            "symbolic-ref",
            "refs/remotes/origin/HEAD",
            f"refs/remotes/origin/{DEFAULT_BRANCH}",
        ],
    ):
        subprocess.run(command, cwd=project, check=True, capture_output=True)


@dataclass
class GitlabCiLocal:
    """gitlab-ci-local's command line in one project, against one engine."""

    command: list[str]
    project: Path
    env: dict[str, str]
    docker: str
    helper_image: str
    home: Path
    volumes: list[str] = field(default_factory=list)

    def arguments(self, variables: dict[str, str | None], validate: bool) -> list[str]:
        """A pipeline's variables as gitlab-ci-local's options: a value sets one, None unsets
        one. A predefined variable given a value must also be named in --ignore-predefined-vars,
        or gitlab-ci-local warns on stdout (into --list-json's output). Without `validate`, the
        file is not checked against GitLab's JSON schema (half of a listing's second)."""
        options = ["--home", str(self.home), "--no-color"]
        if not validate:
            options.append("--no-json-schema-validation")
        overridden = []
        for name, value in variables.items():
            if value is None:
                options += ["--unset-variable", name]
            else:
                options += ["--variable", f"{name}={value}"]
                overridden.append(name)
        if overridden:
            options += ["--ignore-predefined-vars", ",".join(overridden)]
        return options

    def __call__(
        self,
        *args: str,
        variables: dict[str, str | None] | None = None,
        validate: bool = False,
        timeout: float = 900,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.command, *args, *self.arguments(variables or {}, validate)],
            cwd=self.project,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def selected(self, variables: dict[str, str | None]) -> list[str]:
        """The jobs gitlab-ci-local would run in this pipeline (every job whose rules give it a
        `when` other than never), in the file's order."""
        listed = self("--list-json", variables=variables)
        assert listed.returncode == 0, listed.stdout + listed.stderr
        return [job["name"] for job in json.loads(listed.stdout) if job["when"] != "never"]

    def run(
        self,
        job: str,
        variables: dict[str, str | None] | None = None,
        timeout: float = 900,
        needs: bool = False,
        variables_file: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run one job in its image (after the jobs it needs, with `needs`), on the tests'
        engine, with this runner's volumes; a variables file holds what the project's CI/CD
        settings would (values scoped to an environment, for one)."""
        volumes = [option for volume in self.volumes for option in ("--volume", volume)]
        extra = ["--needs"] if needs else []
        if variables_file is not None:
            extra += ["--variables-file", str(variables_file)]
        return self(
            job,
            *extra,
            "--container-executable",
            self.docker,
            "--helper-image",
            self.helper_image,
            "--pull-policy",
            "if-not-present",
            *volumes,
            variables=variables,
            validate=True,
            timeout=timeout,
        )
