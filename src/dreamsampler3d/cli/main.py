"""The ``dreamsampler3d`` command: one subcommand per task, YAML configs with dotted overrides."""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
import warnings
from typing import Any

# OpenMP threads that spin while they wait stall every call when the machine is busy with anything else (a render
# took 60x longer with two spinning threads beside another process). Passive waiting does not spin, but then a
# thread per core loses to one fewer thread even on an idle machine (2 cores: a UNet call 108 ms with 2 passive
# threads, 76 ms with 1, 73 ms with 2 spinning ones; beside a busy process 110, 75 and 314 ms). So: passive, and one
# core left to the rest of the machine (tasks/runner.leave_a_core). The policy is set before torch is first imported;
# OMP_NUM_THREADS / OMP_WAIT_POLICY in the environment win (benchmarks/render_under_load.py measures each combination).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from ..errors import UserError

from . import catalogue

OVERRIDES_NOTE = """Overrides are dotted keys of the task's config, in any order among the flags (the config.yaml of any
run holds them all; --config FILE merges a YAML file of them). Unknown keys and invalid values are errors."""


def _epilog(info: dict[str, Any]) -> str:
    """About, worked examples, and every key=value option that applies, with its default."""
    lines = textwrap.wrap(info["about"], 110) + [""] if info["about"] else []
    if info["examples"]:
        lines += ["examples:"] + [f"  {e}" for e in info["examples"]] + [""]
    groups: dict[str, list[str]] = {}
    for key, value in info["options"].items():
        head, _, rest = key.rpartition(".")
        groups.setdefault(head, []).append(f"{rest}={_show(value)}")
    lines.append("options (key=value, shown with their defaults):")
    for head, items in groups.items():
        text = f"{head}.{{{', '.join(items)}}}" if head else ", ".join(items)
        lines += textwrap.wrap(text, 110, initial_indent="  ", subsequent_indent="      ", break_on_hyphens=False)
    most = ", ".join(f"{k}={v}" if k.split(".")[-1] not in LISTS else f"{k}: {v} values"
                     for k, v in info.get("bounds", {}).items())
    if most:
        lines += ["", "the most each work setting may ask for (more is an error):"]
        if info.get("render_side"):
            most += (f"; svg.render_scale x svg.samples x the canvas side (height / width, else 1024) at most "
                     f"{info['render_side']} px")
        lines += textwrap.wrap(most, 110, initial_indent="  ", subsequent_indent="  ", break_on_hyphens=False)
    return "\n".join(lines + ["", OVERRIDES_NOTE])


LISTS = ("prompts", "masks", "mesh_formats")  # bounds on how many values a list holds


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value) if value == "" or " " in value else value
    if isinstance(value, bool):
        return str(value).lower()
    return "null" if value is None else str(value).replace(" ", "")


def _task_parser(info: dict[str, Any]) -> argparse.ArgumentParser:
    """The task's flags, from its catalogue entry: one per input kind, --method with its methods, the common ones."""
    p = argparse.ArgumentParser(prog=f"dreamsampler3d {info['name']}", description=info["help"],
                                epilog=_epilog(info), formatter_class=argparse.RawDescriptionHelpFormatter)
    inputs = set(info["inputs"])
    if info["needs_prior"]:
        which = "3D-object" if info.get("prior") == "object-prior" else "flat-icon"
        p.add_argument("--model", help="diffusers folder or hub id of a Stable-Diffusion-family model (default: "
                                       f"'embedded', the {which} prior shipped with the package; 'embedded-icons' "
                                       "and 'embedded-objects' name either; see `dreamsampler3d concepts`)")
    if "prompt" in inputs:
        p.add_argument("--prompt", action="append", help="what to make")
    elif "prompts" in inputs and "masks" in inputs:
        p.add_argument("--prompt", action="append", help="what to fill each mask with: one --prompt per --mask")
    elif "prompts" in inputs:
        p.add_argument("--prompt", action="append", help="optional: what the picture shows (repeatable)")
    if "svg" in inputs:
        p.add_argument("--svg", dest="svg_file", help="the SVG file to edit")
    if "image" in inputs:
        help_ = ("the degraded image as you have it (sr4 / sr8: the small one)" if "degradation" in inputs
                 else "the input image")
        p.add_argument("--image", help=help_)
    if "masks" in inputs:
        p.add_argument("--mask", action="append", help="mask image, white = fill, black = keep (repeatable)")
    elif "mask" in inputs:
        p.add_argument("--mask", action="append", help="for --degradation inpaint: the holes, white = missing")
    if "degradation" in inputs:
        p.add_argument("--degradation", choices=catalogue.load()["degradations"], help="what happened to the image")
    if info["methods"]:
        p.add_argument("--method", choices=info["methods"],
                       help=f"{info['method_help']} (default: {info['method_default']})")
    most = info.get("bounds", {}).get("run.steps")
    p.add_argument("--steps", type=int, help=f"sampler steps{f', at most {most}' if most else ''} "
                                             f"(default: {info['steps_default']})")
    p.add_argument("--seed", type=int, help="random seed (default: 0; same seed, same machine: same bytes)")
    p.add_argument("--out", help=f"output folder (default: {info['out_default']})")
    p.add_argument("--config", help="YAML file merged over the task's defaults")
    p.add_argument("--resume", metavar="CKPT", help="continue a killed run from its checkpoints/last.ckpt")
    p.add_argument("--overwrite", action="store_true", help="replace a previous run's files in --out")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides, e.g. svg.num_paths=12 (below)")
    return p


def _flags(info: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """Explicit flags as a nested dict merged last over the config."""
    inputs = info["inputs"]
    flags: dict[str, Any] = {}
    if getattr(args, "model", None) is not None:
        flags.setdefault("prior", {})["model"] = args.model
    run = {k: getattr(args, k) for k in ("steps", "seed", "out", "resume") if getattr(args, k) is not None}
    if args.no_progress:
        run["progress"] = False
    if args.overwrite:
        run["overwrite"] = True
    if run:
        flags["run"] = run
    if getattr(args, "prompt", None):
        if "prompt" in inputs:
            if len(args.prompt) > 1:
                raise UserError(f"{info['name']} takes one --prompt")
            flags["prompt"] = args.prompt[0]
        else:
            flags["prompts"] = args.prompt
    if getattr(args, "image", None) is not None:
        flags["image"] = args.image
    if getattr(args, "svg_file", None) is not None:
        flags["svg_file"] = args.svg_file
    if getattr(args, "mask", None):
        if "masks" in inputs:
            flags["masks"] = args.mask
        elif len(args.mask) > 1:
            raise UserError(f"{info['name']} takes one --mask")
        else:
            flags["mask"] = args.mask[0]
    for key in ("degradation", "method"):
        if getattr(args, key, None) is not None:
            flags[key] = getattr(args, key)
    return flags


def _batch(argv: list[str]) -> int:
    from ..batch.runner import BatchOptions, batch_tasks, run_batch

    p = argparse.ArgumentParser(
        prog="dreamsampler3d batch", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="run many prompts, sharded across processes / GPUs / nodes (Lightning DDP launch)",
        epilog="""prompt files: .txt (one prompt a line, # comments), .csv (columns prompt, seed, and any config key),
.jsonl ({"prompt": ..., "seed": ..., "options": {"sampler.guidance": 5}}).
Rerunning the same command skips finished items and retries failed ones; see OUT/manifest.jsonl.

  dreamsampler3d batch --task generate --prompts prompts.txt --out out/batch --devices 2
  # two nodes of 8 GPUs (run on each node, NODE_RANK=0 and 1):
  MASTER_ADDR=node0 MASTER_PORT=29500 NODE_RANK=0 dreamsampler3d batch --task text-to-3d \\
      --prompts p.txt --out /shared/out --accelerator gpu --devices 8 --num-nodes 2""")
    p.add_argument("--task", required=True, help=", ".join(batch_tasks()))
    p.add_argument("--prompts", required=True, help="prompt file: .txt, .csv or .jsonl")
    p.add_argument("--out", required=True, help="output folder: one sub-folder per item, manifest.jsonl")
    p.add_argument("--devices", type=int, default=1, help="processes (CPU) or GPUs per node")
    p.add_argument("--num-nodes", type=int, default=1)
    p.add_argument("--strategy", default="auto", help="Lightning strategy (default: ddp when more than one process)")
    p.add_argument("--accelerator", default="auto", help="cpu, gpu or auto")
    p.add_argument("--model", help="diffusers folder or hub id (default: the task's embedded prior)")
    p.add_argument("--steps", type=int)
    p.add_argument("--seed", type=int, default=0, help="items without a seed get seed + their index")
    p.add_argument("--config", help="YAML merged over the task's defaults for every item")
    p.add_argument("--threads", type=int, default=0, help="torch threads per process (default: cores / processes)")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("overrides", nargs="*", metavar="key=value")
    a = p.parse_intermixed_args(argv)
    flags: dict[str, Any] = {}
    if a.model:
        flags["prior"] = {"model": a.model}
    if a.steps is not None:
        flags["run"] = {"steps": a.steps}
    opts = BatchOptions(task=a.task, prompts=a.prompts, out=a.out, devices=a.devices, num_nodes=a.num_nodes,
                        strategy=a.strategy, accelerator=a.accelerator, config=a.config, overrides=a.overrides,
                        flags=flags, seed=a.seed, threads=a.threads, progress=not a.no_progress)
    return run_batch(opts, log=lambda msg: print(msg, file=sys.stderr))


def _tiny_model(argv: list[str]) -> None:
    p = argparse.ArgumentParser(prog="dreamsampler3d make-tiny-model",
                                description="save a tiny random-weight pipeline (for trying the tool without weights)")
    p.add_argument("folder")
    p.add_argument("--family", choices=["sd1", "sd2v", "sdxl"], default="sd1")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    from ..priors.tiny import save_tiny_pipeline
    from ..tasks.runner import quiet_libraries

    quiet_libraries()
    print(save_tiny_pipeline(a.folder, a.family, a.seed))


def _ui(argv: list[str]) -> int:
    """``dreamsampler3d ui``: the web interface on localhost (the optional ``[ui]`` extra)."""
    p = argparse.ArgumentParser(prog="dreamsampler3d ui",
                                description="a local web interface: one page per task family, live progress, downloads")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: this machine only)")
    p.add_argument("--port", type=int, default=7860, help="port (default: 7860)")
    p.add_argument("--model", help="the pages' default model (default: each task's embedded prior)")
    p.add_argument("--out", default="outputs/ui", help="root of the runs' output folders (default: outputs/ui)")
    a = p.parse_args(argv)
    import importlib.util

    if importlib.util.find_spec("gradio") is None:
        raise UserError("the web interface needs the optional [ui] extra: pip install 'dreamsampler3d[ui]'")
    from ..ui.worker import RemoteRuns

    runs = RemoteRuns()  # the worker process imports torch and the tasks on another core while Gradio loads here
    try:
        from ..ui.app import launch

        print(f"dreamsampler3d ui: http://{a.host}:{a.port} (runs under {a.out}; Ctrl+C stops)", file=sys.stderr)
        launch(a.host, a.port, a.model, a.out, runs=runs)
    finally:
        runs.close()
    return 0


def build_parser() -> argparse.ArgumentParser:
    examples = [next(e for e in t["examples"] if not e.startswith("dreamsampler3d samples"))
                for t in catalogue.tasks() if t["examples"]]
    parser = argparse.ArgumentParser(
        prog="dreamsampler3d",
        description="DreamSampler: text to SVG, images and 3D, SVG and image editing, restoration and inpainting, "
                    "over the embedded prior or any Stable-Diffusion-family model, on CPU or GPU.",
        epilog="examples (inputs from `dreamsampler3d samples`):\n" + "\n".join(f"  {e}" for e in examples)
               + "\n\n`dreamsampler3d <task> --help` explains a task, its options and their defaults.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="task", metavar="<task>")
    for info in catalogue.tasks():
        sub.add_parser(info["name"], help=info["help"], add_help=False)
    sub.add_parser("render-svg", help="rasterise an SVG file with our renderer (see: dreamsampler3d render-svg --help)", add_help=False)
    sub.add_parser("batch", help="many prompts across processes, GPUs and nodes (see: dreamsampler3d batch --help)", add_help=False)
    sub.add_parser("make-tiny-model", help="save a tiny random-weight SD1 / SD2-v / SDXL pipeline folder", add_help=False)
    sub.add_parser("ui", help="a local web interface for every task (the [ui] extra; see: dreamsampler3d ui --help)", add_help=False)
    sub.add_parser("samples", help="copy the small sample inputs the examples use into a folder (default: samples/)", add_help=False)
    sub.add_parser("concepts", help="list and search what the embedded prior knows (see: dreamsampler3d concepts --help)", add_help=False)
    sub.add_parser("train-prior", help="train an embedded prior: flat icons, or 3D-object views (model cards in src/dreamsampler3d/assets/)", add_help=False)
    return parser


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Our warnings (skipped SVG content, external references) as one line, not Python's two."""
    if issubclass(category, UserWarning) and "dreamsampler3d" in str(filename):
        print(f"dreamsampler3d: warning: {message}", file=sys.stderr)
    else:
        _python_warning(message, category, filename, lineno, file, line)


_python_warning = warnings.showwarning


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    warnings.showwarning = _one_line_warning
    try:
        if argv and argv[0] == "make-tiny-model":
            _tiny_model(argv[1:])
            return 0
        if argv and argv[0] == "render-svg":
            from .render_svg import main as render_svg_main

            return int(render_svg_main(argv[1:]))
        if argv and argv[0] == "batch":
            return _batch(argv[1:])
        if argv and argv[0] == "ui":
            return _ui(argv[1:])
        if argv and argv[0] == "concepts":
            from .concepts import main as concepts_main

            return concepts_main(argv[1:])
        if argv and argv[0] == "train-prior":
            from ..priors.training.train_prior import main as train_main

            return int(train_main(argv[1:]) or 0)
        if argv and argv[0] == "samples":
            from .samples import main as samples_main

            return samples_main(argv[1:])
        info = catalogue.task(argv[0]) if argv else None
        if info is None:
            build_parser().parse_args(argv)  # --help, or an error naming the valid tasks
            build_parser().print_help()
            return 2
        # a parser per task, so that key=value overrides may sit anywhere among the flags; no torch until here
        args = _task_parser(info).parse_intermixed_args(argv[1:])
        from ..config import build_config
        from ..tasks.runner import leave_a_core, run_config

        leave_a_core()

        cfg = build_config(info["name"], args.config, args.overrides, _flags(info, args))
        out = run_config(info["name"], cfg, log=lambda msg: print(msg, file=sys.stderr))
        print(out / "result.png")
        return 0
    except UserError as exc:
        print(f"dreamsampler3d: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dreamsampler3d: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
