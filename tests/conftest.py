"""Fixtures shared by every test; importing helpers prepares the environment first."""

from __future__ import annotations

from pathlib import Path

import helpers  # noqa: F401  (sets the environment before any test runs)
import pytest


@pytest.fixture
def generated(copie):
    """Generate a project through pytest-copie and insist that it worked."""

    def generate(**answers: object) -> Path:
        result = copie.copy(extra_answers=answers)
        assert result.exit_code == 0, result.exception
        return result.project_dir

    return generate
