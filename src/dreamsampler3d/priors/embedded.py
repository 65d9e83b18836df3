"""Where the embedded default prior (flat vector icons, trained by this project) lives."""

from __future__ import annotations

from pathlib import Path

from ..errors import UserError

EMBEDDED = "embedded"
_NAME = "icon-prior"


def embedded_prior_path() -> Path | None:
    """The prior ships inside the package (package data), so a wheel and an editable install find it alike."""
    from importlib import resources

    candidate = Path(str(resources.files("dreamsampler3d") / "assets" / _NAME))
    return candidate if (candidate / "model_index.json").is_file() else None


def resolve_model(model: str) -> str:
    """'embedded' -> the shipped prior's folder; anything else unchanged (a folder or a hub id)."""
    if model != EMBEDDED:
        return model
    path = embedded_prior_path()
    if path is None:
        raise UserError("the embedded prior is missing from this installation; pass --model FOLDER_OR_HUB_ID")
    return str(path)


def vocabulary():
    """What the embedded prior knows (its concepts and caption words), read from its folder."""
    from ..data.vocabulary import Vocabulary

    path = embedded_prior_path()
    return Vocabulary.from_prior(path) if path is not None else None


def domain_note(prompts: list[str]) -> str | None:
    """One line for prompt words the embedded prior never saw, each with the nearest concepts it knows."""
    vocab = vocabulary()
    return vocab.note(prompts) if vocab is not None else None


def config_prompts(cfg) -> list[str]:
    """Every prompt a task config carries."""
    found = [getattr(cfg, key, "") for key in ("prompt", "source_prompt")]
    found += list(getattr(cfg, "prompts", []) or [])
    return [p for p in found if p]
