"""What the pages need to know of every task, as plain data the worker process computes from the registry
(importing the tasks imports torch and Lightning) and sends to the web process, which never imports them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TaskInfo:
    name: str
    help: str
    inputs: tuple[str, ...]  # registry input kinds (tasks/registry.INPUTS)
    methods: tuple[str, ...]
    method_help: str
    defaults: dict[str, Any]  # every dotted config key -> its default (dataclass + YAML), as the CLI has it


@dataclass(frozen=True)
class Catalogue:
    tasks: tuple[TaskInfo, ...]  # in the CLI's help order
    degradations: tuple[str, ...]
    max_image_pixels: int  # the CLI's image loader's limit (io/images.py), which the mask painter applies too

    def get(self, name: str) -> TaskInfo:
        return next(t for t in self.tasks if t.name == name)


def catalogue() -> Catalogue:
    """Every registered task, read from the registry and the configs (the worker process's side)."""
    from ..command_line import dotted
    from ..config import default_config
    from ..io.images import MAX_IMAGE_PIXELS
    from ..sampler.operators import DEGRADATIONS
    from ..tasks.registry import specs

    return Catalogue(tuple(TaskInfo(s.name, s.help, tuple(s.inputs), tuple(s.methods), s.method_help,
                                    dotted(default_config(s.name))) for s in specs()), tuple(DEGRADATIONS),
                     MAX_IMAGE_PIXELS)
