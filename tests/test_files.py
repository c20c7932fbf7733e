"""nsdesign._files: atomic writes."""

import os

from nsdesign._files import write_text_atomic


def test_written_files_are_ordinary_files_not_private_temporaries(tmp_path):
    """Atomic writes go through mkstemp (mode 0600); the final file gets the usual mode under the umask."""
    mask = os.umask(0o022)
    try:
        path = write_text_atomic(tmp_path / "s.json", "{}\n")
    finally:
        os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]  # no temporary left behind


# ---- output safety: -o writes only new or regular files -------------------------------------------------

import json
import stat

import pytest

from nsdesign._files import check_output_path, json_text, write_bytes_atomic, write_json_atomic
from nsdesign.cli.main import main
from nsdesign.errors import InputError
from nsdesign.documents import save_document


def _special_files(tmp_path):
    """Non-regular files made under tmp_path only: FIFO, directory, symlinks (to a file, to a FIFO, dangling),
    and a character device where the OS lets us (root in a container), never under /dev."""
    made = {}
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    made["FIFO"] = fifo
    folder = tmp_path / "folder"
    folder.mkdir()
    made["directory"] = folder
    regular = tmp_path / "regular.txt"
    regular.write_text("keep me\n")
    link = tmp_path / "link.json"
    link.symlink_to(regular)
    made["symbolic link"] = link
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(tmp_path / "nowhere.json")
    made["symbolic link "] = dangling
    try:
        device = tmp_path / "null"
        os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        made["character device"] = device
    except (PermissionError, OSError):
        pass
    return made


def _snapshot(path):
    st = os.lstat(path)
    return (st.st_mode, st.st_ino, os.readlink(path) if os.path.islink(path) else None)


def test_special_files_are_refused_and_left_as_they_were(tmp_path):
    for kind, path in _special_files(tmp_path).items():
        before = _snapshot(path)
        with pytest.raises(InputError, match=kind.strip()):
            write_json_atomic(path, {"a": 1})
        assert _snapshot(path) == before
    assert (tmp_path / "regular.txt").read_text() == "keep me\n"
    assert not (tmp_path / "nowhere.json").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("argv", [
    ["search", "--min-sigma", "1e-3", "-o", "{}"],
    ["export", "keller5", "--to", "python", "-o", "{}"],
])
def test_cli_refuses_special_outputs_with_one_line(tmp_path, capsys, argv):
    for kind, path in _special_files(tmp_path).items():
        before = _snapshot(path)
        code = main([a.replace("{}", str(path)) for a in argv])
        out, err = capsys.readouterr()
        assert code == 2, (kind, out, err)
        assert err.count("\n") == 1 and err.startswith("nsdesign: error: cannot write") and kind.strip() in err
        assert out == ""
        assert _snapshot(path) == before


def test_regular_file_is_replaced_and_new_file_created(tmp_path):
    existing = tmp_path / "s.json"
    existing.write_text("old")
    write_json_atomic(existing, {"a": 1})
    assert json.loads(existing.read_text()) == {"a": 1}
    write_bytes_atomic(tmp_path / "new.bin", b"x")
    assert (tmp_path / "new.bin").read_bytes() == b"x"


def test_empty_output_path_is_an_error(tmp_path, capsys):
    with pytest.raises(InputError, match="must not be empty"):
        check_output_path("")
    assert main(["search", "--min-sigma", "1e-3", "-o", ""]) == 2
    out, err = capsys.readouterr()
    assert "must not be empty" in err and err.count("\n") == 1 and out == ""


def test_dash_means_stdout_and_tables_go_to_stderr(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["search", "--min-sigma", "1e-3", "-o", "-"]) == 0
    out, err = capsys.readouterr()
    document = json.loads(out)  # stdout is exactly the document
    assert document["schema_version"] >= 1 and document["coefficients"]
    assert err.strip()  # the table went to stderr
    assert list(tmp_path.iterdir()) == []  # no file named '-'
    assert main(["export", "keller5", "--to", "python", "-o", "-"]) == 0
    out, _ = capsys.readouterr()
    assert "3.4445" in out
    assert list(tmp_path.iterdir()) == []


def test_plot_refuses_stdout(tmp_path, capsys):
    assert main(["plot", "map", "keller5", "--min-sigma", "1e-3", "-o", "-"]) == 2
    out, err = capsys.readouterr()
    assert ".png or .svg" in err and err.count("\n") == 1


def test_json_documents_refuse_nan_and_infinity(tmp_path):
    with pytest.raises(InputError, match="x.*NaN"):
        json_text({"x": float("nan")})
    with pytest.raises(InputError, match=r"a\[1\]"):
        save_document(tmp_path / "d.json", {"a": [1.0, float("inf")]})
    assert not (tmp_path / "d.json").exists()
