"""README's "Scaling out" example runs as written."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[3]


def test_scaling_out_example_runs(tmp_path, monkeypatch, capsys):
    text = (ROOT / "README.md").read_text()
    section = text.split("## Scaling out\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1
    monkeypatch.chdir(tmp_path)
    exec(compile(blocks[0], "README.md (Scaling out)", "exec"), {"__name__": "readme"})
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "(5, 10) [10 10 10 10 10]"
    assert lines[1].startswith("10000 ")
