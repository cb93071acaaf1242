"""Hypothesis strategies over the answer space: what the validators accept, and what they refuse.

The accepted space is drawn from the validators' own rules (copier.yml), so a project test
over it proves "every accepted answer gives a project that passes its checks". The refused
space is drawn from the complement, to prove that a refusal always comes first, in one line.
"""

from __future__ import annotations

import re
import string

import yaml
from helpers import COPIER_YML, PYTHON_CHOICES, base_image_published
from hypothesis import strategies as st

from lab.template import choices


def fact(name: str) -> list[str]:
    """One of copier.yml's lists (written as one YAML string, so that copier renders it once)."""
    value = COPIER_YML[name]["default"]
    return yaml.safe_load(value) if isinstance(value, str) else value


RESERVED: list[str] = fact("reserved_names")
STDLIB: list[str] = fact("stdlib_modules")
KEYWORDS: list[str] = fact("python_keywords")
RESERVED_MODULES: list[str] = fact("reserved_modules")
RESERVED_COMMANDS: list[str] = fact("reserved_commands")
KINDS: list[str] = choices("project_kind")
YES_OR_NO: list[str] = fact("yes_or_no")
# The yes-or-no questions a user answers (the computed ones are never asked).
ASKED_BOOLEANS = [
    name
    for name, spec in COPIER_YML.items()
    if isinstance(spec, dict) and spec.get("type") == "bool" and spec.get("when") is not False
]
# The values copier computes: each refuses an answer given with --data.
COMPUTED = [
    name
    for name, spec in COPIER_YML.items()
    if isinstance(spec, dict) and spec.get("when") is False
]
NAME_MAX = 64
NAME = re.compile(r"[a-z](?:[a-z0-9]|-(?=[a-z0-9]))*")
# Docker's reference grammar: 64 hexadecimal characters are an image ID, never a name.
IMAGE_ID = re.compile(r"[a-f0-9]{64}")
DESCRIPTION_MAX = 512  # PyPI's limit for a summary
# What a single-line free-text answer may not hold (the description and author validators).
FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
# name@domain.tld, as the validator reads it: a name of dot-separated words (RFC 5322's
# dot-atom, with RFC 6531's non-ASCII letters), a domain of dot-separated labels, none empty,
# none starting or ending with a dash, a top-level label of letters or of punycode.
ATOM = r"(?:[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]|[^\W\x00-\x7f])+"
EMAIL = re.compile(
    rf"{ATOM}(?:[.]{ATOM})*@(?:[^\W_](?:[\w-]*[^\W_])?[.])+"
    r"(?:[^\W\d_]{2,}|xn--[A-Za-z0-9-]*[A-Za-z0-9])"
)
# RFC 5322's specials but `.`: an author's name may not hold them (copier.yml says why).
NAME_SPECIALS = re.compile(r'["(),:;<>@\[\]\\]')
# https://host[:port][/path], as the validator reads it: RFC 1123 labels, none empty, a port
# from 1 to 65535 without leading zeros (is_valid_url), a path of letters, digits, ._~/+%@:=-.
LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
URL = re.compile(rf"https://(?:{LABEL}[.])*{LABEL}(?::([0-9]+))?(?:/[A-Za-z0-9._~/+%@:=-]*)?")


def is_valid_url(url: str) -> bool:
    match = URL.fullmatch(url)
    port = match and match[1]
    return match is not None and (
        port is None or (not port.startswith("0") and len(port) <= 5 and int(port) <= 65535)
    )


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
    return not (
        FORBIDDEN.search(text)
        or len(text) > DESCRIPTION_MAX
        or apostrophe_and_backslash
        or text.endswith("\\")
    )


def is_valid_name(name: str) -> bool:
    return (
        len(name) <= NAME_MAX
        and NAME.fullmatch(name) is not None
        and not name.endswith("-")
        and name not in RESERVED
        and IMAGE_ID.fullmatch(name) is None
    )


def package_may_take(name: str) -> bool:
    """Whether a package's module and command may bear this (valid) project name."""
    module = name.replace("-", "_")
    return not (
        module in KEYWORDS
        or module in STDLIB
        or module in RESERVED_MODULES
        or name in RESERVED_COMMANDS
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
    return name if is_valid_name(name) else name[: NAME_MAX - 1] + "x"


# The names a package cannot take, and names a tool would read as something else.
UNTAKEABLE = sorted({*KEYWORDS, *STDLIB, *RESERVED_MODULES, *RESERVED_COMMANDS})
PACKAGE_REFUSED = st.sampled_from(
    [m.replace("_", "-") for m in UNTAKEABLE if is_valid_name(m.replace("_", "-"))]
)
IMAGE_IDS = st.from_regex(r"[a-f][a-f0-9]{63}", fullmatch=True)


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
# A description is free text up to PyPI's limit, long ones included.
DESCRIPTIONS = st.one_of(
    FREE_TEXT, st.text(st.sampled_from("ab \"'\\$`{}%#<>=|é🐍"), min_size=400, max_size=512)
).filter(is_valid_description)
# An author's name: any one line without RFC 5322's specials (copier.yml says why).
AUTHOR_NAMES = FREE_TEXT.map(lambda text: NAME_SPECIALS.sub("", text))
EMAILS = st.one_of(
    st.just(""), st.emails().filter(EMAIL.fullmatch), st.from_regex(EMAIL, fullmatch=True)
)
URLS = st.one_of(st.just(""), st.from_regex(URL, fullmatch=True).filter(is_valid_url))


@st.composite
def accepted_answers(draw: st.DrawFn) -> dict[str, object]:
    """One full set of answers the questions accept."""
    python = draw(st.sampled_from(PYTHON_CHOICES))
    base = draw(
        st.sampled_from([b for b in ("python-slim", "uv") if base_image_published(b, python)])
    )
    ci_choices = ["github", "none"] + (["gitlab"] if base_image_published("uv", python) else [])
    kind = draw(st.sampled_from(KINDS))
    # Names only a package cannot take are drawn too: the other kinds take them.
    name = draw(st.one_of(project_names(), PACKAGE_REFUSED))
    if kind == "package" and not package_may_take(name):
        name += "-app"
    return {
        "project_name": name,
        "project_kind": kind,
        **({"port": str(draw(st.integers(1024, 65535)))} if kind == "service" else {}),
        "devcontainer": draw(st.booleans()),
        "description": draw(DESCRIPTIONS),
        "author_name": draw(AUTHOR_NAMES),
        "author_email": draw(EMAILS),
        "license": draw(st.sampled_from(choices("license"))),
        "python_version": python,
        "base_image": base,
        "repository_url": draw(URLS),
        "ci": draw(st.sampled_from(ci_choices)),
        "precommit": draw(st.booleans()),
    }


# Refused answers: the question that must be named, and the answers that provoke it.
BAD_NAMES = st.text(max_size=80).filter(lambda name: not is_valid_name(name))
BAD_LINES = st.tuples(LINE_TEXT, st.from_regex(FORBIDDEN), LINE_TEXT).map("".join)
BAD_EMAILS = st.text(min_size=1, max_size=60).filter(lambda e: not EMAIL.fullmatch(e))
BAD_URLS = st.one_of(
    st.text(min_size=1, max_size=60),
    st.from_regex(r"https://[A-Za-z0-9.-]{0,12}(:[0-9]{1,6})?/?", fullmatch=True),
).filter(lambda url: not is_valid_url(url))
BAD_PORTS = st.one_of(
    st.text(max_size=8).filter(lambda p: not re.fullmatch(r"[1-9][0-9]*", p)),
    st.integers(0, 1023).map(str),
    st.integers(65536, 10**9).map(str),
)
REFUSED = st.one_of(
    st.one_of(BAD_NAMES, IMAGE_IDS).map(lambda v: ("project_name", {"project_name": v})),
    PACKAGE_REFUSED.map(lambda v: ("project_kind", {"project_name": v, "project_kind": "package"})),
    BAD_PORTS.map(lambda v: ("port", {"project_kind": "service", "port": v})),
    BAD_LINES.map(lambda v: ("description", {"description": v})),
    st.tuples(LINE_TEXT, st.just("'"), LINE_TEXT, st.just("\\")).map(
        lambda parts: ("description", {"description": "".join(parts)})
    ),
    st.text(min_size=DESCRIPTION_MAX + 1, max_size=2000)
    .filter(lambda t: not FORBIDDEN.search(t))
    .map(lambda v: ("description", {"description": v})),
    BAD_LINES.map(lambda v: ("author_name", {"author_name": v})),
    st.tuples(LINE_TEXT, st.from_regex(NAME_SPECIALS), LINE_TEXT)
    .map("".join)
    .filter(lambda v: not FORBIDDEN.search(v))
    .map(lambda v: ("author_name", {"author_name": v})),
    BAD_EMAILS.map(lambda v: ("author_email", {"author_email": v})),
    BAD_URLS.map(lambda v: ("repository_url", {"repository_url": v})),
    # Words any type reads, YAML included (a value that is not YAML fails to parse first).
    st.tuples(
        st.sampled_from(COMPUTED),
        st.text(st.characters(categories=("L", "N")), max_size=20),
    ).map(lambda pair: (pair[0], {pair[0]: pair[1]})),
    st.tuples(
        st.sampled_from(ASKED_BOOLEANS),
        st.text(max_size=12).filter(lambda v: v.strip().lower() not in YES_OR_NO),
    ).map(lambda pair: (pair[0], {pair[0]: pair[1]})),
)
