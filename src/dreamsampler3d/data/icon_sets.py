"""Open icon and emoji sets from the npm registry: fetched once into a cache, checked, read as SVG text.

Each set is pinned (version and the registry's sha512 integrity), so the prior's training data and the
benchmarks' real icons are the same bytes on every machine. Nothing here is committed to the repository: the
training script and the benchmarks call `fetch` (docs/prior.md). Noto emoji is never used by this project.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ..io.files import atomic_file

REGISTRY = "https://registry.npmjs.org"


@dataclass(frozen=True)
class IconSet:
    """One pinned npm package; `role` says what the project may use it for."""

    key: str
    package: str
    version: str
    integrity: str  # the registry's dist.integrity (sha512, base64)
    licence: str
    author: str
    role: str  # "train": the prior learns from it; "eval": judged against only; "bench": real inputs

    @property
    def tarball(self) -> str:
        short = self.package.split("/")[-1]
        return f"{REGISTRY}/{self.package}/-/{short}-{self.version}.tgz"


SETS: dict[str, IconSet] = {s.key: s for s in (
    IconSet("fluent", "@iconify-json/fluent-emoji-flat", "1.2.6",
            "sha512-RY47RgPb47fYUiyrA64sIOL0+UU02s29sXpNBbIQRBUlPlfNFTKUmZDERGuxDs/7yNGWqQYvuaSYM1M4fRXlUw==",
            "MIT", "Microsoft Corporation (Fluent Emoji)", "train"),
    IconSet("fluent-mono", "@iconify-json/fluent-emoji-high-contrast", "1.2.6",
            "sha512-esqhZPpkrF7sNX3NsLoh8KW64okEr/bzko7WNnFP+qTJGAqDPDYjp0925yxuivXy3HtVQB8xhIKu3+Nq1byX5w==",
            "MIT", "Microsoft Corporation (Fluent Emoji, high contrast)", "train"),
    IconSet("twemoji", "@iconify-json/twemoji", "1.2.5",
            "sha512-uKpuIEV0v6K5BW3Mjdyl+XKFVAbbcPxAgifKvEMtZoUZB5+YiY5zaMm2uNNCxyXzAWU9yNLlj41WU6/mvgALsw==",
            "CC-BY-4.0", "Twitter, Inc and other contributors (Twemoji)", "train"),
    IconSet("emojione", "@iconify-json/emojione", "1.2.3",
            "sha512-T9+T3HIbJNLKKsmxYKlaYhvnHYkz/HNYTV7SHCXVZPfeUi4FqskY70YeN8yYAZT8cCv7w5vJxS4Q1m8zb9CMMg==",
            "CC-BY-4.0", "Emoji One (EmojiTwo)", "train"),
    IconSet("fxemoji", "@iconify-json/fxemoji", "1.2.2",
            "sha512-UAasRaxzFUKfIGSmLwnoarsssA4LX0VLLuEmplIqM6ZNQqIQRtav8tZ4H1neTlBreXuMQyAifr5jP4kn78DpiQ==",
            "Apache-2.0", "Mozilla (FxEmoji)", "train"),
    IconSet("openmoji", "@iconify-json/openmoji", "1.2.29",
            "sha512-vXdhkqcXVSO6suy+m9LbcUM3OdVyuNOtpV8/als/WqfkQIRxevL5Geb/g+6GH/Qwnq1OqksEmaDGTCmZ5nFKJQ==",
            "CC-BY-SA-4.0", "OpenMoji (HfG Schwaebisch Gmuend)", "eval"),
    # real inputs for benchmarks/real_inputs.py: stroked line icons, silhouettes with non-square viewBoxes
    IconSet("feather", "@iconify-json/feather", "1.2.1",
            "sha512-gURNg2TJYuO1U7DoOGCylm9TwkMfzjOH2BHdWsE0IXLXj/MNkFIJu56Wu1xRws27M8hzDzUDt/biGUa/LfAjdg==",
            "MIT", "Cole Bemis (Feather)", "bench"),
    IconSet("lucide", "@iconify-json/lucide", "1.2.137",
            "sha512-uKz1+tFbv1RFX/mJQNksdnyKJijNfRGSNnxfiyKtr+dLNfA3ERph+IgpXClKGOlV/5GsZwLv2jgJXQ/bjF/JAg==",
            "ISC", "Lucide contributors", "bench"),
    IconSet("fa6-solid", "@iconify-json/fa6-solid", "1.2.4",
            "sha512-LmDNNdJVyvF5mPm1yxWvL8KjCc/E8LzoqnF1LNTVpyY2ZJRUlGOWuPIThdbuFBF2IovgttkIyumhyqfmlHdwKg==",
            "CC-BY-4.0", "Fonticons, Inc (Font Awesome Free)", "bench"),
    IconSet("heroicons", "@iconify-json/heroicons", "1.2.3",
            "sha512-n+vmCEgTesRsOpp5AB5ILB6srsgsYK+bieoQBNlafvoEhjVXLq8nIGN4B0v/s4DUfa0dOrjwE/cKJgIKdJXOEg==",
            "MIT", "Refactoring UI Inc (Heroicons)", "bench"),
    IconSet("emojibase", "emojibase-data", "17.0.0",
            "sha512-Yvgb5AWoHViHV/gq1qr5ZAarcBip+B27/ZLRsUJkbgAEaLlZ/fof9g882LTpmEpyhBNEC0m2SEmItljHsTygjA==",
            "MIT", "Miles Johnson (Emojibase)", "train"),
)}

# Files read from each package (the rest of a tarball is not kept).
_WANTED = ("package/icons.json", "package/chars.json", "package/info.json", "package/en/data.json",
           "package/en/shortcodes/cldr.json", "package/en/shortcodes/emojibase.json",
           "package/en/shortcodes/github.json", "package/meta/unicode-names.json")


def cache_root() -> Path:
    """The user's cache of this tool: $DREAMSAMPLER3D_CACHE or ~/.cache/dreamsampler3d (per user, never the
    shared temporary directory, where anyone could plant files first)."""
    return Path(os.environ.get("DREAMSAMPLER3D_CACHE") or Path.home() / ".cache" / "dreamsampler3d")


def cache_dir() -> Path:
    """Where fetched sets live: cache_root()/icon-sets."""
    return cache_root() / "icon-sets"


def _check_integrity(data: bytes, integrity: str) -> None:
    algo, _, want = integrity.partition("-")
    got = base64.b64encode(hashlib.new(algo, data).digest()).decode()
    if got != want:
        raise RuntimeError(f"download does not match its pinned {algo} integrity")


def fetch(key: str, cache: Path | None = None) -> Path:
    """The folder holding set `key`'s JSON files, downloading and checking the tarball the first time."""
    s = SETS[key]
    if "noto" in s.package:  # kept out of the project entirely
        raise ValueError("Noto emoji is not used by this project")
    folder = (cache or cache_dir()) / f"{s.key}-{s.version}"
    done = folder / ".complete"
    if done.exists():
        return folder
    with urllib.request.urlopen(s.tarball, timeout=120) as r:  # noqa: S310 (pinned https registry address)
        data = r.read()
    _check_integrity(data, s.integrity)
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar.getmembers():
            if member.isfile() and member.name in _WANTED:
                blob = tar.extractfile(member).read()
                atomic_file(folder / member.name.removeprefix("package/"), lambda p, b=blob: p.write_bytes(b))
    done.write_text(s.tarball)
    return folder


def read_json(key: str, name: str, cache: Path | None = None) -> dict | list:
    path = fetch(key, cache) / name
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


@dataclass
class IconifySet:
    """An Iconify JSON package: icon bodies, default size and the emoji codepoint -> name table."""

    key: str
    data: dict
    chars: dict[str, str]

    @classmethod
    def load(cls, key: str, cache: Path | None = None) -> "IconifySet":
        return cls(key, read_json(key, "icons.json", cache), read_json(key, "chars.json", cache))

    @property
    def names(self) -> list[str]:
        return list(self.data["icons"])

    def svg(self, name: str) -> str:
        """A standalone SVG document of icon `name` in its own viewBox units."""
        icon = self.data["icons"][name]
        w = icon.get("width", self.data.get("width", 16))
        h = icon.get("height", self.data.get("height", 16))
        left, top = icon.get("left", self.data.get("left", 0)), icon.get("top", self.data.get("top", 0))
        body = icon["body"].replace("currentColor", "#000000")
        return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{left} {top} {w} {h}" '
                f'width="{w}" height="{h}">{body}</svg>')


def norm_hex(code: str) -> str:
    """'1F680-FE0F' -> '1f680': emoji codepoints compared without variation selectors."""
    return "-".join(p for p in code.lower().split("-") if p != "fe0f")
