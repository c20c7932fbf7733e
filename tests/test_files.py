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
