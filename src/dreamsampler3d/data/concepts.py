"""Everyday concepts with the names people type, built from emojibase and matched to open emoji sets.

A concept is one emoji (a rocket, a penguin, a hot air balloon): its CLDR name, the shortcodes and rare keywords
people use for it (aliases), all its keywords (for search), and the icon of it in each open set that has one.
Skin-tone variants, hair-style combinations and gendered copies of a "person ..." emoji are left out: they are
the same drawing at 64 px. docs/prior.md says how the prior is trained on them.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .icon_sets import IconifySet, norm_hex, read_json

# Emoji whose name is a word of the synthetic shapes grammar with another meaning there (docs/prior.md).
RENAMED = {"ring": "wedding ring"}
GROUPS = ("smileys", "people", "component", "animals and nature", "food and drink", "travel and places",
          "activities", "objects", "symbols", "flags")
# Sets matched by codepoint (their chars.json) and by name (no codepoint table).
BY_CODE = ("fluent", "fluent-mono", "twemoji", "openmoji")
BY_NAME = ("emojione", "fxemoji")


@dataclass
class Concept:
    name: str  # "hot air balloon"
    hexcode: str  # emojibase's, e.g. "1F388"
    group: str
    aliases: list[str] = field(default_factory=list)  # other names a person types for it
    keywords: list[str] = field(default_factory=list)  # emojibase tags (search only)
    icons: dict[str, str] = field(default_factory=dict)  # set key -> icon name in that set

    def names(self) -> list[str]:
        return [self.name, *self.aliases]

    def to_json(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "icons"}


def clean_name(text: str) -> str:
    """'Statue of Liberty' -> 'statue of liberty'; "woman’s hat" -> 'womans hat'; 'flag: France' -> 'flag of
    france'; 'keycap: 1' -> 'keycap 1'. Lower case words and digits separated by single spaces."""
    text = text.lower().replace("’", "").replace("'", "").replace("#", " number sign").replace("*", " asterisk")
    text = re.sub(r"^flag: ", "flag of ", text)
    return " ".join(re.findall(r"[a-z0-9]+", text))


def slug(text: str) -> str:
    return clean_name(text).replace(" ", "-")


def _as_list(v) -> list[str]:
    return [v] if isinstance(v, str) else list(v or [])


def _keep(entry: dict, labels: set[str]) -> bool:
    """Drop components, hair/family/kiss combinations, and 'man ...' / 'woman ...' copies of 'person ...'."""
    label = entry["label"].lower()
    if entry.get("group") == 2 or "skin tone" in label:
        return False
    if ":" in label and not label.startswith(("flag:", "keycap:")):
        return False
    for prefix in ("man ", "woman "):
        if label.startswith(prefix) and ("person " + label[len(prefix):]) in labels:
            return False
    return True


def build_concepts(cache: Path | None = None) -> list[Concept]:
    """Every kept emojibase emoji that at least one set draws, in emojibase's order."""
    data = read_json("emojibase", "en/data.json", cache)
    short = {k: read_json("emojibase", f"en/shortcodes/{k}.json", cache) for k in ("cldr", "emojibase", "github")}
    uni_names = read_json("emojibase", "meta/unicode-names.json", cache)
    sets = {k: IconifySet.load(k, cache) for k in BY_CODE + BY_NAME}
    by_code = {k: {norm_hex(h): n for h, n in sets[k].chars.items()} for k in BY_CODE}
    by_name = {k: {n.replace("-", ""): n for n in sets[k].names} for k in BY_NAME}
    labels = {e["label"].lower() for e in data}
    tag_count = Counter(t for e in data for t in set(e.get("tags", [])))
    concepts: list[Concept] = []
    for e in data:
        if not _keep(e, labels):
            continue
        code = norm_hex(e["hexcode"])
        name = clean_name(e["label"])
        icons = {k: by_code[k][code] for k in BY_CODE if code in by_code[k]}
        unicode_name = clean_name(uni_names.get(e["hexcode"], "") or "")
        for k in BY_NAME:
            for cand in (slug(name), slug(unicode_name)):
                if cand and cand.replace("-", "") in by_name[k]:
                    icons[k] = by_name[k][cand.replace("-", "")]
                    break
        if not icons:
            continue
        name = RENAMED.get(name, name)
        aliases = [clean_name(s.replace("_", " ")) for k in short for s in _as_list(short[k].get(e["hexcode"]))]
        tags = [clean_name(t) for t in e.get("tags", [])]
        rare = [t for t, raw in zip(tags, e.get("tags", [])) if tag_count[raw] <= 2 and len(t) >= 3]
        if name.startswith("regional indicator "):
            aliases.append("letter " + name.split()[-1])
        seen = {name}
        alias_list = []
        for a in aliases + rare:
            if a and a not in seen and re.search("[a-z]", a):
                seen.add(a)
                alias_list.append(a)
        concepts.append(Concept(name, e["hexcode"], GROUPS[e.get("group", 7)], alias_list, tags, icons))
    _drop_ambiguous_aliases(concepts)
    return concepts


def _drop_ambiguous_aliases(concepts: list[Concept]) -> None:
    """An alias that is another concept's name, or an alias of several concepts, names none of them."""
    from .icons import COLOURS, SHAPES

    names = {c.name for c in concepts}
    count = Counter(a for c in concepts for a in set(c.aliases))
    grammar = {*SHAPES, *COLOURS, "gray", "colour", "color", "small", "large", "background"}
    for c in concepts:
        c.aliases = [a for a in c.aliases if a not in names and count[a] == 1 and a not in grammar]
