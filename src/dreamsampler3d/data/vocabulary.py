"""What a prior trained by this project knows: its concepts (names, aliases, keywords) and caption words.

Read from the prior's own folder (`concepts.json`, and `caption_words.json` where export wrote it, else the
tokenizer's whole-word tokens), so the warning about
unknown words and `dreamsampler3d concepts` describe the model that runs, not this code's guess of it.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path


def words_of(text: str) -> list[str]:
    """Lower-case letter runs: the pieces CLIP's tokenizer keeps whole (digits and punctuation are single bytes)."""
    return re.findall(r"[a-z]+", text.lower())


@dataclass
class Vocabulary:
    concepts: list[dict] = field(default_factory=list)  # {"name", "aliases", "keywords", "group", ...}
    words: set[str] = field(default_factory=set)  # every word the prior's captions held

    @classmethod
    def from_prior(cls, folder: str | Path) -> "Vocabulary | None":
        """The vocabulary of a prior folder trained by this project; None for other models (they read any text)."""
        folder = Path(folder)
        vocab_file = folder / "tokenizer" / "vocab.json"
        concepts_file = folder / "concepts.json"
        if not vocab_file.is_file():
            return None
        learnt = folder / "caption_words.json"  # a prior whose tokenizer holds words its UNet never learnt
        if learnt.is_file():
            words = {w for w in json.loads(learnt.read_text(encoding="utf-8")) if len(w) > 1}
        else:
            tokens = json.loads(vocab_file.read_text(encoding="utf-8"))
            words = {t[:-4] for t in tokens if t.endswith("</w>") and len(t) > 5 and t[:-4].isalpha()}
        concepts = json.loads(concepts_file.read_text(encoding="utf-8")) if concepts_file.is_file() else []
        return cls(concepts, words)

    def unknown(self, text: str) -> list[str]:
        """Words of `text` the prior never saw in a caption, in order, once each."""
        out: list[str] = []
        for w in words_of(text):
            if w not in self.words and w not in out and len(w) > 1:
                out.append(w)
        return out

    def nearest(self, word: str, k: int = 3) -> list[str]:
        """Concept names closest to an unknown word: those it is a keyword of, then similar spellings."""
        word = word.lower()
        found = [c["name"] for c in self.concepts if word in c.get("keywords", [])]
        if len(found) < k:
            names = {n: c["name"] for c in self.concepts for n in [c["name"], *c.get("aliases", [])]}
            for n in difflib.get_close_matches(word, list(names), n=k * 2, cutoff=0.6):
                if names[n] not in found:
                    found.append(names[n])
        if len(found) < k:
            for w in difflib.get_close_matches(word, sorted(self.words), n=k, cutoff=0.75):
                if w not in found:
                    found.append(w)
        return found[:k]

    def search(self, query: str) -> list[dict]:
        """Concepts whose name, an alias or a keyword holds every word of `query` (all concepts for "")."""
        q = words_of(query)
        hits = []
        for c in self.concepts:
            text = set(words_of(" ".join([c["name"], *c.get("aliases", []), *c.get("keywords", [])])))
            if all(w in text for w in q):
                hits.append(c)
        named = [c for c in hits if " ".join(q) in [c["name"], *c.get("aliases", [])]]
        return named + [c for c in hits if c not in named]

    def note(self, prompts: list[str], prior: str = "the embedded prior",
             knows: str = "`dreamsampler3d concepts [WORD]` lists what it knows") -> str | None:
        """One line naming each unknown word with its nearest concepts, or None when every word is known."""
        parts = []
        for w in dict.fromkeys(w for p in prompts for w in self.unknown(p)):
            near = self.nearest(w)
            parts.append(f"'{w}'" + (f" (nearest: {', '.join(near)})" if near else ""))
        if not parts:
            return None
        return (f"note: {prior} does not know " + ", ".join(parts[:6]) + (" ..." if len(parts) > 6 else "")
                + f"; {knows}, --model takes Stable Diffusion weights")
