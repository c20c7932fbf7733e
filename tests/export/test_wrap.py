"""Generated code fits 79 columns: `fit_python` moves only comments and docstring text (nsdesign/export/_wrap.py)."""

from __future__ import annotations

import io
import tokenize

import pytest

from nsdesign.core.normalizers import get
from nsdesign.export import TARGETS, export
from nsdesign.export._wrap import fit_python
from nsdesign.presets import preset


def _code_tokens(source: str) -> list[tuple[int, str]]:
    """Every token but comments and line breaks; strings as the multiset of their words (a docstring example's
    comment may move above its line)."""
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
    tokens = [t for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type not in skip]
    return [(t.type, " ".join(sorted(w for w in t.string.split() if w != "#")) if t.type == tokenize.STRING
             else t.string) for t in tokens]


SOURCE = '''r"""A module docstring whose first line is far too long for seventy-nine columns of text, really.

    example()      # a trailing comment in an example that makes this line much longer than the limit

Extension: one field that is long enough to need wrapping when the limit is seventy-nine columns.
Provenance: another field.
"""

ROWS = (
    (8.156554524902461, -22.48329292557794, 15.878769915207446),  # step 1: degree 5 and more words
)


def f(x):
    """A one-line docstring that is much too long for the limit of seventy-nine columns here."""
    # a comment line that is much too long for the limit of seventy-nine columns, so it wraps
    return x
'''


def test_fit_python_wraps_comments_and_docstrings_only():
    fitted = fit_python(SOURCE)
    assert max(len(line) for line in fitted.splitlines()) <= 79
    assert _code_tokens(fitted) == _code_tokens(SOURCE)
    namespace: dict = {}
    exec(compile(fitted, "fitted", "exec"), namespace)
    assert namespace["ROWS"][0] == (8.156554524902461, -22.48329292557794, 15.878769915207446)
    assert namespace["f"](3) == 3
    assert "\nExtension: one field" in fitted and "\nProvenance: another field." in fitted  # fields keep their lines
    assert "    # a trailing comment in an example" in fitted and "\n    example()\n" in fitted
    assert "    # step 1: degree 5 and more words\n    (8.156554524902461" in fitted


def test_short_source_is_unchanged():
    short = "X = 1  # fine\n"
    assert fit_python(short) is short


def _schedules():
    yield "polar_express_l1e-4_12", preset("polar_express_l1e-4_12"), None
    yield "keller5", preset("keller5"), None
    for name in ("schatten4", "schatten8", "spectral", "aol"):
        yield f"keller5+{name}", preset("keller5").with_name("a name long enough to matter in every header"), name


CASES = [(label, schedule, norm, target.name, patch) for label, schedule, norm in _schedules()
         for target in TARGETS if target.name != "polar-express" for patch in (False, True)
         if not patch or target.patch is not None]


@pytest.mark.parametrize("label, schedule, norm, target, patch", CASES,
                         ids=[f"{c[0]}-{c[3]}{'-patch' if c[4] else ''}" for c in CASES])
def test_every_python_export_fits_79_columns_and_compiles(label, schedule, norm, target, patch):
    from nsdesign.errors import InputError

    try:
        result = export(schedule, target, patch=patch, normalizer=get(norm) if norm else None,
                        provenance="schedule file a/rather/long/path/to/a/schedule.json, params {\"cushion\": 0.02, "
                                   "\"safety\": 1.02, \"steps\": 5, \"degrees\": [5, 5, 5, 5, 5], \"tol\": null}")
    except InputError:
        pytest.skip("this target refuses this schedule (tested elsewhere)")
    long = [line for line in result.text.splitlines() if len(line) > 79]
    assert not long, long
    compile(result.text, target, "exec")
