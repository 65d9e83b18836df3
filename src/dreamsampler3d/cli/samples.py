"""``dreamsampler3d samples [DIR]``: copy the package's small sample inputs (assets/samples) into a folder."""

from __future__ import annotations

import argparse
import shutil
from importlib import resources
from pathlib import Path

from ..errors import UserError


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="dreamsampler3d samples",
                                description="copy the sample inputs that the --help examples use into a folder")
    p.add_argument("folder", nargs="?", default="samples", help="where to put them (default: samples)")
    a = p.parse_args(argv)
    source = Path(str(resources.files("dreamsampler3d") / "assets" / "samples"))
    target = Path(a.folder)
    if target.exists() and not target.is_dir():
        raise UserError(f"{target} exists and is not a folder")
    target.mkdir(parents=True, exist_ok=True)
    for f in sorted(source.iterdir()):
        if f.suffix in (".png", ".svg"):
            shutil.copyfile(f, target / f.name)
            print(target / f.name)
    return 0
