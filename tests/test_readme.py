"""The README's promises: its two set-up commands exist, CI runs them, its example runs."""

from __future__ import annotations

import re
import subprocess

from .conftest import ROOT

README = (ROOT / "README.md").read_text()


def _command(marker: str) -> str:
    m = re.search(rf"<!-- {marker} -->\n```bash\n(.+?)\n```", README)
    assert m, f"README lacks the {marker} block"
    return m.group(1)


def test_readme_has_exactly_two_setup_commands_and_ci_runs_them() -> None:
    assert README.count("```bash") == 2
    main, test = _command("main-command"), _command("test-command")
    assert "fixtures/example.qf" in main and "inspect" in main
    assert "pytest" in test
    out = subprocess.run(["bash", "-c", "source <(sed -n '/^readme_command()/,/^}/p' "
                          ".ci/run); readme_command main-command; readme_command test-command"],
                         capture_output=True, text=True, cwd=ROOT, timeout=30)
    assert out.stdout.splitlines() == [main, test]


def test_readme_python_example_runs(tmp_path, monkeypatch) -> None:
    block = re.search(r"## Python\n\n```python\n(.+?)\n```", README, re.DOTALL)
    assert block
    monkeypatch.chdir(tmp_path)
    (tmp_path / "fixtures").mkdir()
    (tmp_path / "fixtures" / "example.qf").write_bytes((ROOT / "fixtures/example.qf").read_bytes())
    exec(compile(block.group(1), "README.md", "exec"), {})
    assert (tmp_path / "out.qf").exists() and (tmp_path / "big.qf").exists()
