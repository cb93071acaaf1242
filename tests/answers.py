"""Hypothesis strategies over the answer space: what the validators accept, and what they refuse.

The accepted space is drawn from the validators' own rules (copier.yml), so a project test
over it proves "every accepted answer gives a project that passes its checks". The refused
space is drawn from the complement, to prove that a refusal always comes first, in one line.
"""

from __future__ import annotations

import re
import string

from helpers import COPIER_YML, PYTHON_CHOICES, base_image_published
from hypothesis import strategies as st

RESERVED: list[str] = COPIER_YML["reserved_names"]["default"]
STDLIB: list[str] = COPIER_YML["stdlib_modules"]["default"]
KINDS: list[str] = list(COPIER_YML["project_kind"]["choices"].values())
NAME_MAX = 64
NAME = re.compile(r"[a-z](?:[a-z0-9]|-(?=[a-z0-9]))*")
# What a single-line free-text answer may not hold (the description and author validators).
FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
EMAIL = re.compile(
    r'[^@\s<>",\x00-\x1f\x7f-\x9f]+@[^@\s<>",\x00-\x1f\x7f-\x9f]+[.][^@\s<>",\x00-\x1f\x7f-\x9f]+'
)
URL = re.compile(r"https://[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._~/-]*)?")

# Text that has broken templates and the tools that read their output.
TRICKY = [
    "<<<<<<< before updating",
    ">>>>>>> after updating",
    "=======",
    "{{ project_name }}",
    "{% raw %}",
    "{#",
    "- item: [a, {b: c}]",
    "&anchor *alias !!python/object",
    "key: value # comment",
    "$(touch pwned) `id` ${HOME} $HOME",
    '\'single\' "double" \\"escaped\\"',
    "\\",
    "\\n \\t \\u0041",
    "C:\\path\\to",
    "'''\"\"\"",
    "é ü 日本語 🐍 \u200b \ufeff",
    "# not a comment",
    "\\\\",
    " leading and trailing ",
]


def is_valid_description(text: str) -> bool:
    apostrophe_and_backslash = "'" in text and "\\" in text
    return not (FORBIDDEN.search(text) or apostrophe_and_backslash or text.endswith("\\"))


def is_valid_name(name: str) -> bool:
    return (
        len(name) <= NAME_MAX
        and NAME.fullmatch(name) is not None
        and not name.endswith("-")
        and name not in RESERVED
    )


@st.composite
def project_names(draw: st.DrawFn) -> str:
    """Every shape the validator allows, of every length up to the maximum."""
    length = draw(st.integers(1, NAME_MAX))
    chars = [draw(st.sampled_from(string.ascii_lowercase))]
    while len(chars) < length:
        if chars[-1] != "-" and len(chars) < length - 1 and draw(st.integers(0, 4)) == 0:
            chars.append("-")
        else:
            chars.append(draw(st.sampled_from(string.ascii_lowercase + string.digits)))
    name = "".join(chars)
    return name if name not in RESERVED else name + "x"


# Printable Unicode on one line: no control characters (Cc covers C0, DEL and C1), no line or
# paragraph separators, no surrogates.
LINE_TEXT = st.text(
    st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp")),
    max_size=200,
)
FREE_TEXT = st.one_of(
    LINE_TEXT,
    st.lists(st.one_of(st.sampled_from(TRICKY), LINE_TEXT), max_size=6).map("".join),
    st.text(st.sampled_from("ab \"'\\$`{}%#<>=|"), min_size=1000, max_size=4000),
)
EMAILS = st.one_of(st.just(""), st.emails(), st.from_regex(EMAIL, fullmatch=True))
URLS = st.one_of(st.just(""), st.from_regex(URL, fullmatch=True))


@st.composite
def accepted_answers(draw: st.DrawFn) -> dict[str, object]:
    """One full set of answers the questions accept."""
    python = draw(st.sampled_from(PYTHON_CHOICES))
    base = draw(
        st.sampled_from([b for b in ("python-slim", "uv") if base_image_published(b, python)])
    )
    ci_choices = ["github", "none"] + (["gitlab"] if base_image_published("uv", python) else [])
    kind = draw(st.sampled_from(KINDS))
    name = draw(project_names())
    if kind == "package" and name.replace("-", "_") in STDLIB:
        name += "-app"
    return {
        "project_name": name,
        "project_kind": kind,
        **({"port": draw(st.integers(1024, 65535))} if kind == "service" else {}),
        "devcontainer": draw(st.booleans()),
        "description": draw(FREE_TEXT.filter(is_valid_description)),
        "author_name": draw(FREE_TEXT),
        "author_email": draw(EMAILS),
        "license": draw(st.sampled_from(list(COPIER_YML["license"]["choices"].values()))),
        "python_version": python,
        "base_image": base,
        "repository_url": draw(URLS),
        "ci": draw(st.sampled_from(ci_choices)),
        "precommit": draw(st.booleans()),
    }


# Refused answers, each with the question that must be named.
BAD_NAMES = st.text(max_size=80).filter(lambda name: not is_valid_name(name))
BAD_LINES = st.tuples(LINE_TEXT, st.from_regex(FORBIDDEN), LINE_TEXT).map("".join)
BAD_EMAILS = st.text(min_size=1, max_size=60).filter(lambda e: not EMAIL.fullmatch(e))
BAD_URLS = st.text(min_size=1, max_size=60).filter(lambda u: not URL.fullmatch(u))
REFUSED = st.one_of(
    BAD_NAMES.map(lambda v: ("project_name", v)),
    BAD_LINES.map(lambda v: ("description", v)),
    st.tuples(LINE_TEXT, st.just("'"), LINE_TEXT, st.just("\\")).map(
        lambda parts: ("description", "".join(parts))
    ),
    BAD_LINES.map(lambda v: ("author_name", v)),
    BAD_EMAILS.map(lambda v: ("author_email", v)),
    BAD_URLS.map(lambda v: ("repository_url", v)),
)
