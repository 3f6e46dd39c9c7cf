"""`fupin demo --out DIR` writes only under DIR and the home named (issue 27): nothing in the current folder."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from fupin.cli import app


@pytest.mark.slow  # writes the demo three times (~15 s)
def test_demo_out_writes_nothing_to_the_current_folder(tmp_path, monkeypatch):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("FUPIN_HOME", raising=False)
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "inbox")])
    assert result.exit_code == 0, result.output
    assert list(cwd.iterdir()) == []
    assert (tmp_path / "inbox" / "hunan").is_dir()
    assert "未写入演示的报送日历" in result.output and "[demo_calendar_not_written]" in result.output

    home = tmp_path / "home"
    named = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "inbox2"), "--home", str(home)])
    assert named.exit_code == 0, named.output
    assert list(cwd.iterdir()) == []
    assert (home / "config" / "calendar.yaml").read_text(encoding="utf-8").startswith("# 报送日历")
    assert sorted(p.name for p in home.iterdir()) == ["config"]  # the inbox went to --out, not into the home

    monkeypatch.setenv("FUPIN_HOME", str(tmp_path / "env-home"))
    by_env = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "inbox3")])
    assert by_env.exit_code == 0 and (tmp_path / "env-home" / "config" / "calendar.yaml").exists()
    assert list(cwd.iterdir()) == []
