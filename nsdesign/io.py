"""Schedule files (kept for older imports): everything here now lives in `nsdesign.documents`."""

from __future__ import annotations

from nsdesign.documents import (  # noqa: F401  (re-exported)
    SCHEDULE_VERSION,
    load_schedule,
    read_schedule_document,
    read_schedule_file,
    save_document,
    schedule_document,
)

SCHEMA_VERSION = SCHEDULE_VERSION  # the version `schedule_document` writes

__all__ = ["SCHEMA_VERSION", "load_schedule", "read_schedule_file", "save_document", "schedule_document"]
