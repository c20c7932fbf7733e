"""`schema`: print the shipped JSON Schema of a document kind (the schedule file by default)."""

from __future__ import annotations

import argparse

from nsdesign.documents import KINDS, _schema_text, schema_path


def register(subparsers: argparse._SubParsersAction) -> None:
    schema = subparsers.add_parser(
        "schema", help="print the JSON Schema of a schedule file (or of another document kind)",
        description="The schema ships in the package (nsdesign/schemas/); docs/schedule-format.md explains it.",
    )
    schema.add_argument("kind", nargs="?", default="schedule", help="one of: " + ", ".join(KINDS) + " (default schedule)")
    schema.add_argument("--path", action="store_true", help="print where the schema file lies instead of its text")
    schema.set_defaults(handler=_schema)


def _schema(args: argparse.Namespace) -> int:
    if args.path:
        print(schema_path(args.kind))
    else:
        print(_schema_text(args.kind), end="" if _schema_text(args.kind).endswith("\n") else "\n")
    return 0
