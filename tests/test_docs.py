"""The code's references to the mathematics and design point at files a reader of this repository can open."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [*sorted((ROOT / "src").rglob("*.py")), *sorted((ROOT / "src").rglob("*.yaml")), ROOT / "README.md",
           *sorted((ROOT / "benchmarks").glob("*.py"))]


def test_every_cited_doc_exists_and_nothing_cites_a_design_file_outside_the_repository():
    cited, outside = set(), []
    for path in SOURCES:
        text = path.read_text()
        cited.update(re.findall(r"docs/[\w.-]+\.md", text))
        outside += [f"{path.relative_to(ROOT)}: {m}" for m in re.findall(r"DESIGN(?:\.md| section \d+)", text)]
    assert not outside, outside
    assert cited, "no docs/ references found: the pattern is wrong"
    missing = sorted(c for c in cited if not (ROOT / c).is_file())
    assert not missing, missing
