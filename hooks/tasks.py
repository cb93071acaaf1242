"""Tasks and migrations of copier-uv-docker, run by copier with its own interpreter.

Copy time (`_tasks`):

    tasks.py after-copy --image-tag NAME --run COMMAND (--docker-build | --no-docker-build)
                        [--publish PORT] [--answers-file FILE]
        `uv lock`, then `docker build -t NAME .` when asked; a warning when the answers file
        records a template that CI cannot reach; then the next steps.

Update time, before copier writes anything (a "before" `_migrations` entry):

    tasks.py before-update [--answers-file FILE] [--data JSON] [--defaults] [--skip-tasks]
        render the new version aside, inside the git dir; refuse a switch of project kind
        and, with --defaults, a recorded answer that copier would replace without being
        asked (exit 1: nothing is written).

Update time, after copier's merge ("after" `_migrations` entries):

    tasks.py check-kind [--answers-file FILE] KIND
        a switch of kind answered at a prompt: put back what the update changed inside the
        project (nothing outside it), say why, exit 1.
    tasks.py after-update [--answers-file FILE]
        where the update removed files, render the project's template version aside to
        tell the owner's edits from the template's text: carry a renamed package's module
        over with the owner's edits, and keep aside, as `<file>.kept`, every file the owner
        had edited that the update removed; list the conflicts; `uv lock` once unless
        pyproject.toml is in conflict; name the locked packages the update dropped.

A template version that renames a question (a versioned "before" `_migrations` entry):

    tasks.py rename-answer --answers-file FILE OLD NEW

Where a project lives: anywhere in a git work tree (its root, a subfolder of a monorepo, a
`git worktree` or a submodule, where `.git` is a file). Everything here reads and writes only
inside the project folder, and its own state inside the git dir (`git rev-parse --git-path`),
under a name of the project's own, so two projects of one repository never share it.

Exit behaviour: copier deletes a freshly generated project when a task exits non-zero, so a
step that fails for a reason outside the template (uv or docker missing, no network, no
matching Python, a failed build, an interrupt) is reported on stderr with the commands still to
run, and the task still exits 0: the project stays on disk. Only a misuse of this script, or a
refused update (before anything is written, or undone inside the project), exits non-zero.
Every command runs with a time bound, so nothing here can hang for ever.

Standard library only; every command is an argument list, never a shell string.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

from tasklib.after import after_update, check_kind
from tasklib.answers import ANSWERS_FILE, rename_answer
from tasklib.before import before_update
from tasklib.copy import after_copy
from tasklib.processes import interrupted


def json_object(text: str) -> dict[str, object]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("--data takes a JSON object")
    return {str(key): item for key, item in value.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tasks.py", description=__doc__.splitlines()[0])
    steps = parser.add_subparsers(dest="step", required=True)

    def step(name: str, help: str) -> argparse.ArgumentParser:
        sub = steps.add_parser(name, help=help)
        sub.add_argument("--answers-file", type=Path, default=ANSWERS_FILE)
        return sub

    copy = step("after-copy", "lock, build the image if asked, say what comes next")
    copy.add_argument("--image-tag", required=True)
    copy.add_argument("--run", default="python main.py", help="what runs the app")
    copy.add_argument("--docker-build", action=argparse.BooleanOptionalAction, required=True)
    copy.add_argument("--publish", default="", metavar="PORT", help="a service's port")
    copy.add_argument("--data", type=json_object, default={}, help="the --data answers, as JSON")
    before = step("before-update", "render aside; refuse a kind switch, a swapped answer, `..`")
    before.add_argument("--destination", type=Path, default=Path(), help="as copier was given it")
    before.add_argument("--data", type=json_object, help="the --data answers, as JSON")
    before.add_argument("--defaults", action=argparse.BooleanOptionalAction, default=True)
    before.add_argument("--skip-tasks", action=argparse.BooleanOptionalAction, default=False)
    kind = step("check-kind", "undo, inside the project, an update that switched the kind")
    kind.add_argument("kind")
    after = step("after-update", "carry over, keep aside, list conflicts, relock")
    after.add_argument(
        "--shell-less-base", default="", help="the base image, if it has no shell (distroless)"
    )
    rename = step("rename-answer", "carry an answer to a renamed question")
    rename.add_argument("old")
    rename.add_argument("new")
    args = parser.parse_args(argv)
    # Ctrl-C, and a cancelled CI job's or `kill`'s SIGTERM: one line each, nothing left behind.
    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)

    if args.step == "after-copy":
        after_copy(
            args.image_tag, args.run, args.docker_build, args.publish, args.answers_file, args.data
        )
    elif args.step == "before-update":
        return before_update(
            args.answers_file, args.destination, args.data, args.defaults, args.skip_tasks
        )
    elif args.step == "check-kind":
        return check_kind(args.answers_file, args.kind)
    elif args.step == "after-update":
        after_update(args.answers_file, args.shell_less_base)
    else:
        rename_answer(args.answers_file, args.old, args.new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
