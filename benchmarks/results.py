"""Write one section of benchmarks/RESULTS.md, keeping the others."""

from __future__ import annotations

import datetime
import platform
import re
from pathlib import Path


def write_section(path: Path, title: str, lines: list[str]) -> None:
    """Replace (or append) the `## title` section of `path` with `lines`, stamped."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    stamp = (
        f"_Measured {datetime.date.today().isoformat()} on {platform.machine()}, "
        f"Python {platform.python_version()}; rerun the script to update._"
    )
    section = f"## {title}\n\n{stamp}\n\n" + "\n".join(lines) + "\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")
