"""CLIP-compatible byte-level BPE tokenizer for the icon caption vocabulary.

A tokenizer trap (docs/prior.md): a word-level vocab.json with a header-only merges.txt makes CLIPTokenizer split
every word into characters. Here each caption word gets its own merge chain, learnt by a tiny
BPE run over the word list, so every vocabulary word encodes to one token;
the 256 byte-level characters (plain and with "</w>") are in the vocab too, so any other
text still encodes (to character pieces) and never crashes. The run is not reproducible across processes (the
`tokenizers` trainer orders tied merges differently), so a training run builds its tokenizer once and keeps it
(priors/training/train_prior.py, work_tokenizer).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from .icons import BACKGROUNDS, COLOURS, POSITION_PHRASES, SHAPES

BOS, EOS = "<|startoftext|>", "<|endoftext|>"
MAX_LENGTH = 40  # longest generated caption is 32 tokens with BOS/EOS; headroom for user text


def caption_words() -> list[str]:
    """Every word a generated caption can contain, sorted."""
    words = {"a", "small", "large", "and", "on", "background", *SHAPES, *COLOURS, *BACKGROUNDS}
    for phrase in POSITION_PHRASES.values():
        words.update(phrase.split())
    return sorted(words)


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP byte -> printable unicode character table."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) \
        + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def learn_merges(words: list[str]) -> list[tuple[str, str]]:
    """BPE merges (in rank order) after which every word is a single symbol, learnt by Hugging Face's
    `tokenizers` trainer (the same greedy lowest-rank-first algorithm CLIPTokenizer applies)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    byte_chars = bytes_to_unicode()
    mapped = ["".join(byte_chars[b] for b in w.encode("utf-8")) for w in words]
    model = Tokenizer(models.BPE(end_of_word_suffix="</w>"))
    model.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    trainer = trainers.BpeTrainer(vocab_size=10_000_000, min_frequency=0, show_progress=False,
                                  end_of_word_suffix="</w>", limit_alphabet=1000)
    model.train_from_iterator(mapped, trainer)
    merges = json.loads(model.to_str())["model"]["merges"]
    return [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in merges]


def build_vocab(words: list[str]) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """vocab.json content and merge list: bytes, bytes</w>, merge results, BOS, EOS."""
    chars = list(bytes_to_unicode().values())
    tokens = chars + [c + "</w>" for c in chars]
    merges = learn_merges(words)
    tokens += ["".join(m) for m in merges]
    seen: dict[str, int] = {}
    for t in tokens + [BOS, EOS]:
        seen.setdefault(t, len(seen))
    return seen, merges


def save_tokenizer(folder: str | Path, max_length: int = MAX_LENGTH, words: list[str] | None = None) -> Path:
    """Write vocab.json, merges.txt and tokenizer configs loadable by CLIPTokenizer; `words` (default: the
    shapes grammar's) each become one token."""
    from transformers import CLIPTokenizer

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab, merges = build_vocab(sorted(set(words or caption_words())))
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False))
    lines = ["#version: 0.2"] + [f"{a} {b}" for a, b in merges]
    (folder / "merges.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    tok = CLIPTokenizer(vocab=str(folder / "vocab.json"),
                        merges=str(folder / "merges.txt"), model_max_length=max_length)
    tok.save_pretrained(str(folder))
    return folder


def load_tokenizer(folder: str | Path):
    from transformers import CLIPTokenizer

    return CLIPTokenizer.from_pretrained(str(folder))


def unknown_words(text: str) -> list[str]:
    """Words of `text` outside the caption vocabulary (for an 'outside the domain' warning)."""
    known = set(caption_words())
    return [w for w in re.findall(r"[a-z]+|[^a-z\s]", text.lower()) if w not in known]
