"""The template's questions, and the values copier.yml computes from answers.

copier.yml computes each image reference once, as hidden (`when: false`) values: `uv_image`,
`uv_python_image`, `slim_image` and `runtime_image` (what the builder starts from, and so the
image shipped). `computed(**answers)` evaluates them, and every other answer, with Copier's
own questionnaire and Jinja environment, so that no test,
stand-in or benchmark writes a tag of its own: a pin or a naming change is made in copier.yml
and nowhere else.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from copier._main import Worker
from copier._template import Template, load_template_config
from copier._tools import cast_to_bool
from jinja2.sandbox import SandboxedEnvironment

from lab.paths import ROOT
from lab.record import published, record

COPIER_YML: dict[str, Any] = load_template_config(ROOT / "copier.yml")


def _choices(question: str) -> list[tuple[str, Any]]:
    """A select question's choices as (label, value or {value, validator}) pairs, in order."""
    listed = COPIER_YML[question]["choices"]
    return list(listed.items()) if isinstance(listed, dict) else [(v, v) for v in listed]


def labels(question: str) -> dict[str, str]:
    """A select question's values, in order, with the label its prompt shows for each."""
    return {(v["value"] if isinstance(v, dict) else v): label for label, v in _choices(question)}


def choices(question: str) -> list[str]:
    """A select question's values, in order (a choice may carry a validator beside its value)."""
    return list(labels(question))


def choice_refusals(question: str) -> dict[str, str]:
    """The validators of a select question's choices, by value: what disables a choice."""
    return {
        v["value"]: v["validator"]
        for _, v in _choices(question)
        if isinstance(v, dict) and "validator" in v
    }


PYTHON_CHOICES: list[str] = choices("python_version")
DEFAULT_PYTHON: str = COPIER_YML["python_version"]["default"]
BASE_IMAGES: list[str] = choices("base_image")
KINDS: list[str] = choices("project_kind")
UV_VERSION: str = COPIER_YML["uv_version"]["default"]
DEBIAN: str = COPIER_YML["debian_release"]["default"]

# The folder computed() pretends to render into: the README's example, for the defaults that
# derive from the destination's name (project_name and what follows from it).
FOLDER = Path("/nonexistent/my-app")


# The select questions some of whose choices carry a validator.
SELECTS = {
    name
    for name, spec in COPIER_YML.items()
    if isinstance(spec, dict) and "choices" in spec and choice_refusals(name)
}


@cache
def _template() -> Template:
    """This working tree as Copier's template, read in place (Copier would clone a git
    template first, dirty changes included), its validators left out: computed values are
    what answers name, accepted or not (tests/test_questions.py proves the refusals), and
    the lab may set a computed value itself (standins.py's uv_version and debian_release),
    which copier.yml refuses from a user."""
    template = Template(url=str(ROOT))
    template.__dict__.update(local_abspath=ROOT, vcs=None)
    template.__dict__["questions_data"] = {
        name: {
            **{key: value for key, value in spec.items() if key != "validator"},
            **({"choices": choices(name)} if name in SELECTS else {}),
        }
        for name, spec in template.questions_data.items()
    }
    return template


def _worker(answers: dict[str, object] | None = None) -> Worker:
    """Copier's Worker for these answers, on the template above, with one Jinja environment
    for all of them."""
    worker = Worker(src_path=str(ROOT), dst_path=FOLDER, data=answers or {}, defaults=True)
    worker.__dict__["template"] = _template()
    if answers is not None:
        worker.__dict__["jinja_env"] = _jinja_env()
    return worker


@cache
def _jinja_env() -> SandboxedEnvironment:
    """Copier's Jinja environment for this template, keeping what it compiles: compiling
    copier.yml's hundreds of strings, not rendering them, is what a questionnaire costs."""
    environment = _worker().jinja_env
    environment.from_string = cache(environment.from_string)  # type: ignore[method-assign, assignment]
    return environment


@cache
def _computed(answers: tuple[tuple[str, object], ...]) -> Mapping[str, object]:
    worker = _worker(dict(answers))
    worker._ask()
    combined = worker.answers.combined
    return {name: combined[name] for name in _template().questions_data if name in combined}


def computed(**answers: object) -> dict[str, object]:
    """Every value Copier renders the template with for these answers (the others at their
    defaults), the hidden computed ones included. Cached per answer set: the tests ask often."""
    return dict(_computed(tuple(sorted(answers.items()))))


def image(name: str, **answers: object) -> str:
    """One computed image reference, e.g. image("slim_image", python_version="3.13")."""
    return str(computed(**answers)[name])


def accepted_pair(base_image: str, python: str) -> bool:
    """Whether the images this pair's Dockerfile starts its stages from are published, each
    with this Python where its record names one (the validators refuse the pair otherwise)."""
    values = computed(base_image=base_image, python_version=python)
    base = values["base_images"][base_image]  # type: ignore[index]
    images = {base["runtime"], base["dev"]} - {"builder"}
    return all(
        published(image) and record()[image.rsplit(":", 1)[0]].get("python", python) == python
        for image in images
    )


# Every (base_image, python_version) pair the questions accept.
VARIANTS: list[tuple[str, str]] = [
    (b, v) for b in BASE_IMAGES for v in PYTHON_CHOICES if accepted_pair(b, v)
]


def python_for(base_image: str) -> str:
    """The Python a project on this base image gets when nobody names one: the default, or the
    first the base image accepts (distroless has only one)."""
    return next(v for v in [DEFAULT_PYTHON, *PYTHON_CHOICES] if accepted_pair(base_image, v))


def with_python(answers: dict[str, object]) -> dict[str, object]:
    """These answers, with python_for(base_image) where a base image is named and no Python."""
    if "base_image" in answers and "python_version" not in answers:
        return {**answers, "python_version": python_for(str(answers["base_image"]))}
    return answers


def choice_refusal(question: str, value: str, **answers: object) -> str:
    """Why this choice of a select question is refused for these answers ("" if it is not),
    rendered from copier.yml's own validator of that choice."""
    validator = choice_refusals(question).get(value, "")
    return _jinja_env().from_string(validator).render(**computed(**answers)).strip()


def is_asked(question: str, **answers: object) -> bool:
    """Whether Copier asks this question, after these answers (its `when`)."""
    when = COPIER_YML[question].get("when", True)
    if isinstance(when, bool):
        return when
    return cast_to_bool(_jinja_env().from_string(str(when)).render(**computed(**answers)))


def template_update_default(source: str) -> bool:
    """copier.yml's default for template_update when the template comes from this source (as
    Copier records it in `_src_path`): yes only where a CI runner can reach it."""
    default = str(COPIER_YML["template_update"]["default"])
    rendered = _jinja_env().from_string(default).render(_copier_answers={"_src_path": source})
    return bool(cast_to_bool(rendered))
