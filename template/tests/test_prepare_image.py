import subprocess
import sys
from pathlib import Path

import prepare_image

SCRIPT = Path(__file__).parents[1] / "prepare_image.py"


def test_the_apps_user_and_group_are_added_once(tmp_path: Path) -> None:
    (tmp_path / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (tmp_path / "group").write_text("root:x:0:\n")
    prepare_image.add_user(tmp_path)
    prepare_image.add_user(tmp_path)
    users = (tmp_path / "passwd").read_text().splitlines()
    assert users[1:] == [prepare_image.USER.strip()]
    groups = (tmp_path / "group").read_text().splitlines()
    assert groups[1:] == [prepare_image.GROUP.strip()]


def test_each_module_is_imported_and_one_that_cannot_be_is_named() -> None:
    failed = prepare_image.import_each(["json", "no_such_module_here"])
    assert failed == ["no_such_module_here"] and "json" in sys.modules


def test_run_as_the_dockerfile_runs_it_on_a_given_etc(tmp_path: Path) -> None:
    (tmp_path / "passwd").write_text("")
    (tmp_path / "group").write_text("")
    site_dir = tmp_path / "site-packages"
    site_dir.mkdir()
    command = [sys.executable, str(SCRIPT), str(tmp_path), str(site_dir)]
    subprocess.run(command, check=True)
    assert (tmp_path / "passwd").read_text() == prepare_image.USER
