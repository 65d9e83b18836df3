"""The prior's training data: synthetic shape scenes and open-set concept drawings, cached without pickle.

Caches are plain `.npz` arrays plus JSON (read with `allow_pickle=False`) and tensor files read with
`torch.load(weights_only=True)` (`load_tensors`), in a per-user work folder, so a file someone else dropped there
can never run code: a cache that holds anything else is refused with one line. Batches mix the two sources at a
fixed rate, and each concept drawing carries several captions of which one is drawn per step.
"""

from __future__ import annotations

import json
import pickle
import re
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ...data.icons import render_scene, scene_from_seed
from ...errors import UserError
from ...io.files import atomic_file

CHUNK = 250


def _render_chunk(args: tuple[int, int, int]) -> tuple[np.ndarray, list[str]]:
    lo, hi, seed = args
    scenes = [scene_from_seed(seed * 1_000_003 + i) for i in range(lo, hi)]
    return np.stack([render_scene(s) for s in scenes]), [s.caption() for s in scenes]


def _save_npz(path: Path, **arrays) -> None:
    atomic_file(path, lambda tmp: np.savez_compressed(tmp.open("wb"), **arrays))


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as d:
            return {k: d[k] for k in d.files}
    except ValueError as e:  # an object array: only pickle could read it
        raise UserError(f"{path}: not a cache this tool wrote ({e}); delete it to rebuild it") from None


def load_tensors(path: Path, map_location: str | torch.device | None = None):
    """A tensor file of the work folder (token ids, latents, the UNet checkpoint): tensors, numbers and dicts or
    lists of them only, read by torch's restricted loader (weights_only=True): nothing in it is called."""
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UserError(f"{path}: holds more than tensors and numbers ({first[:120]}); refused without running "
                        "it: delete it to rebuild it") from None


def shape_scenes(work: Path, n: int, seed: int, workers: int = 1) -> tuple[torch.Tensor, list[str]]:
    """n seeded synthetic scenes: uint8 [n, 64, 64, 3] and their captions; image i is the same bytes whatever
    the worker count."""
    def render() -> tuple[np.ndarray, list[str]]:
        chunks = [(lo, min(lo + CHUNK, n), seed) for lo in range(0, n, CHUNK)]
        images, captions = np.zeros((n, 64, 64, 3), np.uint8), []
        bar = tqdm(total=n, desc="render scenes", mininterval=10)
        pool = get_context("spawn").Pool(workers) if workers > 1 else None  # spawn: no forked torch
        for (lo, hi, _), (ims, caps) in zip(chunks, (pool.imap if pool else map)(_render_chunk, chunks)):
            images[lo:hi] = ims
            captions += caps
            bar.update(hi - lo)
        if pool:
            pool.close()
        bar.close()
        return images, captions

    return _cached_captioned(work / f"scenes_{seed}_{n}", render)


def _cached_captioned(stem: Path, make) -> tuple[torch.Tensor, list]:
    """Images uint8 [N, 64, 64, 3] and their captions from ``stem``.npz / .json, made by ``make()`` and written
    there the first time."""
    path, cap_path = stem.with_suffix(".npz"), stem.with_suffix(".json")
    if path.exists() and cap_path.exists():
        return torch.from_numpy(_load_npz(path)["images"]), json.loads(cap_path.read_text())
    images, captions = make()
    _save_npz(path, images=images)
    atomic_file(cap_path, lambda tmp: tmp.write_text(json.dumps(captions)))
    return torch.from_numpy(images), captions


@dataclass
class ConceptData:
    images: torch.Tensor  # uint8 [M, 64, 64, 3]
    captions: list[list[str]]  # M lists of CAPTIONS_PER_IMAGE
    concept: np.ndarray  # int [M]: index into `concepts`
    set_key: list[str]  # M set keys
    concepts: list[dict]  # Concept.to_json() of every concept

    def with_views(self, images: torch.Tensor, captions: list[list[str]]) -> "ConceptData":
        """These drawings and, after them, captioned views of 3D objects (concept -1, set "views"): one pool,
        so views are drawn at the concepts' rate in proportion to their count."""
        if self.captions and captions and len(captions[0]) != len(self.captions[0]):
            raise ValueError(f"views carry {len(captions[0])} captions each, drawings {len(self.captions[0])}")
        return ConceptData(torch.cat([self.images, images]), [*self.captions, *captions],
                           np.concatenate([np.asarray(self.concept, np.int32), np.full(len(images), -1, np.int32)]),
                           [*self.set_key, *["views"] * len(images)], self.concepts)


def concept_drawings(work: Path, seed: int, cache: Path | None = None) -> ConceptData:
    """Every training drawing of every concept (data/emoji_data.py), rendered once and cached in work."""
    from ...data.emoji_data import concept_drawings as draw
    from ...data.emoji_data import load_training_concepts

    path, meta_path = work / f"concepts_{seed}.npz", work / f"concepts_{seed}.json"
    if path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        arrays = _load_npz(path)
        return ConceptData(torch.from_numpy(arrays["images"]), meta["captions"], arrays["concept"],
                           meta["set_key"], meta["concepts"])
    concepts, sets = load_training_concepts(cache)
    drawings, captions = draw(concepts, sets, seed)
    images = np.stack([d.image for d in drawings])
    concept = np.array([d.concept for d in drawings], np.int32)
    meta = {"captions": captions, "set_key": [d.set_key for d in drawings],
            "concepts": [c.to_json() for c in concepts]}
    _save_npz(path, images=images, concept=concept)
    atomic_file(meta_path, lambda tmp: tmp.write_text(json.dumps(meta)))
    return ConceptData(torch.from_numpy(images), captions, concept, meta["set_key"], meta["concepts"])


def view_drawings(work: Path, n: int, seed: int, k: int) -> tuple[torch.Tensor, list[list[str]]]:
    """n captioned views of 3D objects (data/objects3d.py, k captions each), rendered once and cached in work."""
    from ...data.objects3d import object_views

    return _cached_captioned(work / f"views_{seed}_{n}", lambda: object_views(n, seed, k=k))


def caption_words(captions: list[str]) -> list[str]:
    """The words a caption list holds, split as CLIP's tokenizer splits them (letters runs; digits and
    punctuation are single bytes, which every vocabulary holds)."""
    return sorted({w for c in captions for w in re.findall(r"[a-z]+", c.lower())})


class MixedBatches:
    """Draws training batches: `shape_fraction` of each batch from the shape scenes, the rest from concept
    drawings with one of their captions at random; `drop` of all captions become "" (for CFG)."""

    def __init__(self, shape_latents: torch.Tensor, shape_ids: torch.Tensor, concept_latents: torch.Tensor,
                 concept_ids: torch.Tensor, empty: torch.Tensor, shape_fraction: float, holdout: int,
                 drop: float = 0.1):
        self.shape_latents, self.shape_ids = shape_latents, shape_ids  # [N, 4, 16, 16], [N, L]
        self.concept_latents, self.concept_ids = concept_latents, concept_ids  # [M, 4, 16, 16], [M, K, L]
        self.empty, self.fraction, self.holdout, self.drop = empty, shape_fraction, holdout, drop

    def sample(self, batch: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(latents [B, 4, 16, 16], token ids [B, L])."""
        device = self.shape_latents.device
        n_shape = round(batch * self.fraction) if len(self.concept_latents) else batch
        n_con = batch - n_shape
        i = torch.randint(0, len(self.shape_latents) - self.holdout, (n_shape,), generator=g, device=device)
        j = torch.randint(0, max(len(self.concept_latents), 1), (n_con,), generator=g, device=device)
        k = torch.randint(0, max(self.concept_ids.shape[1], 1), (n_con,), generator=g, device=device)
        x0 = torch.cat([self.shape_latents[i], self.concept_latents[j]])
        ids = torch.cat([self.shape_ids[i], self.concept_ids[j, k]])
        drop = torch.rand(batch, generator=g, device=device) < self.drop
        return x0, torch.where(drop[:, None], self.empty[None], ids)
