"""README's Python and C quick starts run as written."""

import os
import pathlib
import re
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("IQDB_BUILD_DIR", ROOT / "build"))


def section_blocks(language):
    text = (ROOT / "README.md").read_text()
    section = text.split("## Python and C\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```" + language + r"\n(.*?)```", section, flags=re.S)


PYTHON_BLOCKS = section_blocks("python")


def test_the_section_has_examples():
    assert len(PYTHON_BLOCKS) >= 2 and len(section_blocks("c")) == 1


@pytest.mark.parametrize("index", range(len(PYTHON_BLOCKS)))
def test_python_example_runs(index, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    exec(compile(PYTHON_BLOCKS[index], f"README.md python block {index}", "exec"), {"__name__": "__readme__"})
    assert capsys.readouterr().out  # every example prints something


def test_c_example_compiles_as_c99_and_runs(tmp_path):
    compiler = shutil.which("cc")
    assert compiler, "a C compiler (cc) is needed"
    lib_dir = BUILD / "src"
    assert (lib_dir / "libiqdb.so").exists(), f"libiqdb.so not built in {lib_dir}"
    source = tmp_path / "app.c"
    source.write_text(section_blocks("c")[0])
    exe = tmp_path / "app"
    subprocess.run([compiler, "-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror", f"-I{ROOT / 'include'}",
                    str(source), "-o", str(exe), f"-L{lib_dir}", "-liqdb", f"-Wl,-rpath,{lib_dir}"], check=True)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.split("\n")
    assert out[0] == "1 0.000" and out[1] == "2 1.732"
