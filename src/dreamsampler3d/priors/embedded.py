"""Where the embedded priors (trained by this project) live: flat vector icons for the 2D tasks, shaded views of
simple 3D objects for text-to-3D (docs/prior.md)."""

from __future__ import annotations

from pathlib import Path

from ..errors import UserError

EMBEDDED = "embedded"  # the embedded prior made for the task at hand
ICONS, OBJECTS = "icon-prior", "object-prior"  # folders under assets/
NAMED = {"embedded-icons": ICONS, "embedded-objects": OBJECTS}  # either one, named, for any task


def embedded_prior_path(name: str = ICONS) -> Path | None:
    """The priors ship inside the package (package data), so a wheel and an editable install find them alike."""
    from importlib import resources

    candidate = Path(str(resources.files("dreamsampler3d") / "assets" / name))
    return candidate if (candidate / "model_index.json").is_file() else None


def embedded_name(model: str, default: str = ICONS) -> str | None:
    """The assets folder a --model value names ('embedded' -> the task's own, `default`), or None for a folder
    or hub id."""
    return default if model == EMBEDDED else NAMED.get(model)


def resolve_model(model: str, default: str = ICONS) -> str:
    """'embedded' (the task's prior, `default`) or 'embedded-icons' / 'embedded-objects' -> the shipped folder;
    anything else unchanged (a folder or a hub id)."""
    name = embedded_name(model, default)
    if name is None:
        return model
    path = embedded_prior_path(name)
    if path is None:
        raise UserError(f"the embedded prior {name} is missing from this installation; pass --model FOLDER_OR_HUB_ID")
    return str(path)


def vocabulary(name: str = ICONS):
    """What an embedded prior knows (its concepts and caption words), read from its folder."""
    from ..data.vocabulary import Vocabulary

    path = embedded_prior_path(name)
    return Vocabulary.from_prior(path) if path is not None else None


def domain_note(prompts: list[str], name: str = ICONS) -> str | None:
    """One line for prompt words an embedded prior never saw, each with the nearest concepts it knows."""
    vocab = vocabulary(name)
    if vocab is None:
        return None
    if name == OBJECTS:
        return vocab.note(prompts, "the embedded 3D-object prior", "it draws cubes, spheres, cylinders, cones, "
                          "pyramids, tori, capsules and two-object stacks in named colours")
    return vocab.note(prompts)


def config_prompts(cfg) -> list[str]:
    """Every prompt a task config carries."""
    found = [getattr(cfg, key, "") for key in ("prompt", "source_prompt")]
    found += list(getattr(cfg, "prompts", []) or [])
    return [p for p in found if p]
