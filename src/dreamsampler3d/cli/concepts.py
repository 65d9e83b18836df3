"""``dreamsampler3d concepts [WORDS]``: list and search what the embedded prior (or a prior folder) knows."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import UserError

EPILOG = """examples:
  dreamsampler3d concepts                 # every concept, by group
  dreamsampler3d concepts rocket          # concepts named or tagged 'rocket'
  dreamsampler3d concepts kitten          # not a name: the nearest concepts
  dreamsampler3d concepts --group food    # one group"""


def _line(c: dict) -> str:
    aliases = ", ".join(c.get("aliases", [])[:4])
    return f"{c['name']}" + (f"  (also: {aliases})" if aliases else "")


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="dreamsampler3d concepts", epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                description="list and search the concepts a prior trained by this project knows")
    p.add_argument("words", nargs="*", help="words to search for in names, aliases and keywords")
    p.add_argument("--model", help="a prior folder trained by this project, or embedded-icons / embedded-objects "
                                   "(default: the embedded flat-icon prior)")
    p.add_argument("--group", help="only concepts of this group (e.g. animals, food, objects, flags)")
    p.add_argument("--limit", type=int, default=0, help="print at most this many (default: all)")
    a = p.parse_args(argv)
    from ..data.vocabulary import Vocabulary
    from ..priors.embedded import EMBEDDED, resolve_model

    folder = Path(resolve_model(a.model or EMBEDDED))
    vocab = Vocabulary.from_prior(folder)
    if vocab is None:
        raise UserError(f"{a.model or 'the embedded prior'} is not a prior trained by this project "
                        "(no tokenizer/vocab.json): Stable Diffusion models read any text")
    if not vocab.concepts and (folder / "caption_words.json").is_file():  # e.g. the 3D-object prior
        raise UserError("this prior lists no concepts; the words of its captions are: " + ", ".join(sorted(vocab.words)))
    if not vocab.concepts:
        raise UserError("this prior was trained on shapes only (circle, square, ...) in named colours; it lists no concepts")
    query = " ".join(a.words)
    hits = vocab.search(query)
    if a.group:
        hits = [c for c in hits if a.group.lower() in c.get("group", "")]
    if not hits:
        near = [n for w in (vocab.unknown(query) or a.words) for n in vocab.nearest(w)]
        print(f"no concept matches '{query}'" + (f"; nearest: {', '.join(dict.fromkeys(near))}" if near else ""))
        return 1
    shown = hits[:a.limit] if a.limit > 0 else hits
    group = None
    for c in shown:
        if not query and c.get("group") != group:
            group = c.get("group")
            print(f"# {group}")
        print(_line(c))
    if len(shown) < len(hits):
        print(f"... {len(hits) - len(shown)} more (--limit 0 shows all)", file=sys.stderr)
    return 0
