"""Free host memory, for the pre-checks that refuse an allocation before it is made (torch-free).

psutil is not a dependency: MemAvailable from /proc/meminfo, falling back to os.sysconf; None when neither can
be read (an unknown budget is not a reason to refuse).
"""

from __future__ import annotations

import os
from pathlib import Path


def host_available_bytes(meminfo: str | os.PathLike[str] = "/proc/meminfo") -> int | None:
    try:
        for line in Path(meminfo).read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None
