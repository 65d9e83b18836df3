"""Text-guided inpainting: the inverse-problem task with one fill region (and prompt) per mask."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

import torch

from ..config_base import Common
from ..errors import UserError, require
from ..io.images import to_tensor
from ..sampler.inverse import InverseConfig
from ..sampler.operators import make_operator
from .full_size import crop_image, mask_window
from .inverse_problem import InverseOptions, InverseProblemTask, observed_region_psnr
from .prepare import full_size_masks, load_masks, resize, working_size
from .registry import TaskSpec, register


@dataclass
class InpaintConfig(Common):
    image: str = ""
    masks: List[str] = field(default_factory=list)  # white = fill, black = keep; one prompt each
    prompts: List[str] = field(default_factory=list)
    height: Optional[int] = None
    width: Optional[int] = None
    context: float = 1.0  # work on the masks' bounding box grown by this times its side (large: the whole image)
    sampler: InverseConfig = field(default_factory=lambda: InverseConfig(guidance=2.0))  # configs/inpaint.yaml: why


def _check(cfg: InpaintConfig) -> None:
    require(len(cfg.prompts) in (1, len(cfg.masks)),
            f"config: give one prompt, or one per mask ({len(cfg.masks)} masks, {len(cfg.prompts)} prompts)")
    require(cfg.context >= 0, f"config: context must be >= 0, got {cfg.context}")


def _build(cfg: InpaintConfig, prior, inputs):
    size = working_size(cfg, prior)
    union = full_size_masks(list(cfg.masks), inputs.source)  # [1, 1, H, W] at the input's size
    box = mask_window(union[0, 0].numpy(), size, cfg.context)
    window = inputs.source
    if box is not None:
        window = crop_image(inputs.source, box)
        inputs.notes.append(f"inpainting the window ({box[0]}, {box[1]})-({box[2]}, {box[3]}) around the masks "
                            f"(context={cfg.context:g}); result.png is the input's {inputs.source.size[0]}x"
                            f"{inputs.source.size[1]}, its own pixels outside the masks")
    inputs.masks = load_masks(list(cfg.masks), inputs.source, size, inputs.notes, box)
    inputs.image = to_tensor(resize(window, size, "image" if box is None else "window", inputs.notes,
                                    result_note=box is None))
    prompts = list(cfg.prompts) * (len(cfg.masks) if len(cfg.prompts) == 1 else 1)
    observed = 1.0 - inputs.masks.amax(0, keepdim=True)  # [1, 1, H, W]
    if observed.sum() == 0:
        raise UserError("the masks cover the whole image: nothing is left to keep")
    op = make_operator("inpaint", observed=observed)
    t = InverseProblemTask(prior, op, op.forward(inputs.image), size, inputs.masks,
                           InverseOptions(prompts, cfg.sampler), cfg.run.steps, cfg.run.seed, cfg.prior.negative_prompt)
    t.full_input, t.full_region, t.full_box = inputs.source, union, box

    def metrics(result: torch.Tensor) -> dict:
        decoded = t.decoded()  # before the last pixel-space projection: what the latent trajectory kept
        return {"psnr_observed_db": observed_region_psnr(result, inputs.image, observed),
                "psnr_observed_decoded_db": observed_region_psnr(decoded, inputs.image, observed)}

    return t, metrics


register(TaskSpec(name="inpaint", help="fill masked regions (white = fill), one prompt per mask, with data consistency",
                  config=InpaintConfig, build=_build, inputs=("image", "masks", "prompts"), check=_check, order=30,
                  about="White pixels of each --mask are filled from its --prompt, black ones kept (conjugate-gradient "
                        "data consistency). The work is done on a window centred on the masks (their box grown by "
                        "context times its side) at the model's size, so the prompt's subject fills the mask. "
                        "result.png has the input's size; pixels outside the masks are the input's.",
                  examples=("dreamsampler3d samples samples",
                            "dreamsampler3d inpaint --image samples/red-circle.png --mask samples/box-mask.png "
                            '--prompt "a yellow square" --out out/inpaint')))
