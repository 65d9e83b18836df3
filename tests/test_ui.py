"""The web interface (`dreamsampler3d ui`): quick checks of its pieces, and one end-to-end test that drives the
real app in headless Chromium (Playwright): text-to-SVG with live progress and a downloaded SVG, inpainting with
a mask painted in the browser, a queued second run, cancel and resume from the command line, an invalid upload
showing the CLI's error line, and a screenshot of every page.

The browser test needs the [ui] extra, the playwright package and a Chromium binary (/usr/bin/chromium, or
DS_CHROMIUM); it is skipped, saying which is missing, without them. It never touches the network: the runs use
the embedded prior. DS_UI_SCREENSHOTS=DIR also copies the page screenshots there (docs/ui/ for the README)."""

from __future__ import annotations

import importlib.util
import io
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from PIL import Image, ImageDraw

from dreamsampler3d.cli.command import command_line
from dreamsampler3d.cli.catalogue import info
from dreamsampler3d.cli.main import _flags, _task_parser, main
from dreamsampler3d.config import build_config, default_config, to_yaml
from dreamsampler3d.tasks.registry import get, specs

SRC = Path(__file__).resolve().parents[1] / "src"


# ---------------------------------------------------------------------------------------------- quick checks
def _cli_config(task: str, command: str):
    """What the CLI builds from a command line (the parser and flags of cli/main.py)."""
    argv = shlex.split(command)[2:]
    args = _task_parser(info(get(task))).parse_intermixed_args(argv)
    return build_config(task, args.config, args.overrides, _flags(info(get(task)), args))


@pytest.mark.parametrize("task,overrides,flags", [
    ("text-to-svg", ["sampler.guidance=4", "svg.num_paths=8", "prior.negative_prompt=1"],
     {"prompt": "a red star's \"tip\"", "run": {"steps": 5, "out": "/tmp/x y", "seed": 3}, "method": "sds"}),
    ("inpaint", ["sampler.cg_iters=3"], {"prompts": ["a", "b c"], "image": "i.png", "masks": ["m1.png", "m 2.png"]}),
    ("restore-svg", [], {"image": "i.png", "degradation": "inpaint", "mask": "m.png", "prompts": ["x"]}),
    ("edit-svg", ["init_at=0.5"], {"svg_file": "a.svg", "prompt": "a blue star", "run": {"overwrite": True}}),
    ("text-to-3d", ["mesh_formats=[glb,obj]", "elevation=[0,45]"], {"prompt": "a cube", "prior": {"model": "m"}}),
])
def test_command_line_round_trip(task, overrides, flags):
    """The command shown beside a run parses back, through the CLI's own parser, to the very same config."""
    cfg = build_config(task, None, overrides, flags)
    command = command_line(task, cfg)
    assert command.startswith(f"dreamsampler3d {task} ")
    assert to_yaml(_cli_config(task, command)) == to_yaml(cfg)


def test_command_line_leaves_out_defaults():
    cfg = build_config("text-to-svg", None, [], {"prompt": "a red star"})
    assert command_line("text-to-svg", cfg) == "dreamsampler3d text-to-svg --prompt 'a red star' --out outputs/text-to-svg"


def test_ui_without_the_extra_is_one_line_and_exit_2(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "gradio", None)  # import gradio -> ImportError
    assert main(["ui"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["dreamsampler3d: error: the web interface needs the optional [ui] extra: pip install 'dreamsampler3d[ui]'"]


needs_gradio = pytest.mark.skipif(importlib.util.find_spec("gradio") is None,
                                  reason="the [ui] extra (gradio) is not installed")


@needs_gradio
def test_pages_cover_every_task_with_its_registry_defaults():
    """The catalogue the worker process sends holds every registered task with the CLI's defaults, and the
    pages place every one of them."""
    from dreamsampler3d.cli.command import dotted
    from dreamsampler3d.ui.catalogue import catalogue
    from dreamsampler3d.ui.pages import OPTIONS, pages

    known = catalogue()
    names = [t.name for t in known.tasks]
    assert names == [s.name for s in specs()]
    listed = [t for page in pages(names) for t in page.tasks]
    assert sorted(listed) == sorted(names)
    for spec in specs():
        info = known.get(spec.name)
        assert info.defaults == dotted(default_config(spec.name))
        assert (info.inputs, info.methods) == (tuple(spec.inputs), tuple(spec.methods))
    for task, keys in OPTIONS.items():  # every option shown is a real key of the task's config
        missing = [k for k in keys if k not in known.get(task).defaults]
        assert not missing, (task, missing)


@needs_gradio
def test_web_process_never_imports_torch():
    """The page's process imports Gradio while the worker process imports torch, Lightning and the tasks:
    side by side on two cores. Were the web side to import torch, the two would queue up again."""
    code = ("import sys; import dreamsampler3d.ui.app, dreamsampler3d.cli.main; "
            "print(sorted(m for m in ('torch', 'lightning', 'diffusers') if m in sys.modules))")
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_form_values_build_the_cli_config(tmp_path):
    """An uploaded image and a painted layer become files in the run folder and the config the CLI builds."""
    from dreamsampler3d.ui.forms import build_run

    image = np.full((32, 32, 4), 255, np.uint8)
    layer = np.zeros((32, 32, 4), np.uint8)
    layer[8:16, 8:16] = 255
    cfg = build_run("inpaint", {"image": {"background": image, "layers": [layer, np.zeros_like(layer)]},
                                "prompts": "a yellow circle\n", "run.steps": 4, "run.seed": 1,
                                "overrides": "sampler.cg_iters=3\nrun.seed=7", "model": "embedded"}, tmp_path)
    out = Path(cfg.run.out)
    assert out.parent == tmp_path.resolve() and cfg.run.steps == 4 and cfg.run.seed == 7  # the typed line wins
    assert cfg.masks == [str(out / "inputs" / "mask-1.png")]  # the empty layer is no mask
    mask = np.asarray(Image.open(cfg.masks[0]))
    assert mask[10, 10] == 255 and mask[0, 0] == 0
    again = _cli_config("inpaint", command_line("inpaint", cfg))
    again.run.progress = cfg.run.progress
    assert to_yaml(again) == to_yaml(cfg)


def test_bad_form_is_the_cli_error_and_leaves_nothing(tmp_path):
    from dreamsampler3d.errors import UserError
    from dreamsampler3d.ui.forms import build_run

    (tmp_path / "img.png").write_bytes(b"")
    with pytest.raises(UserError, match="config: prompt is required"):
        build_run("edit", {"image": str(tmp_path / "img.png"), "prompt": "  "}, tmp_path / "runs")
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


# ------------------------------------------------------------------------------------------ in the browser
def _chromium() -> str | None:
    for path in (os.environ.get("DS_CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser"),
                 shutil.which("google-chrome")):
        if path and Path(path).is_file():
            return path
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _missing(reason: str) -> None:
    """Skip, unless CI said the browser test must run (DS_UI_BROWSER_REQUIRED=1 in .ci/run): then fail."""
    if os.environ.get("DS_UI_BROWSER_REQUIRED") == "1":
        pytest.fail(f"DS_UI_BROWSER_REQUIRED=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright import sync_api
    except ImportError:
        _missing("playwright is not installed (pip install -e '.[ui-test]')")
    chromium = _chromium()
    if chromium is None:
        _missing("no Chromium binary (apt-get install chromium, or set DS_CHROMIUM)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`dreamsampler3d ui` in its own process, as a user starts it (its own OpenMP settings, no pytest around)."""
    import urllib.request

    out = tmp_path_factory.mktemp("ui-runs")
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    log = open(out.parent / "ui-server.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "dreamsampler3d.cli.main", "ui", "--port", str(port), "--out",
                             str(out)], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    def answers() -> bool:
        assert proc.poll() is None, (out.parent / "ui-server.log").read_text()[-3000:]  # the server died
        try:
            urllib.request.urlopen(url, timeout=5).read()
            return True
        except OSError:
            return False

    _poll(answers, lambda: (out.parent / "ui-server.log").read_text()[-3000:], every=0.2)
    yield url, out
    proc.terminate()
    proc.wait(timeout=30)
    log.close()


def _shoot(page, folder: Path, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
    extra = os.environ.get("DS_UI_SCREENSHOTS")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(folder / f"{name}.png", Path(extra) / f"{name}.png")


HANG_GUARD = 900.0  # s: only a hung app ends a wait here; how long things take is benchmarks/ui_latency.py's business


def _poll(done: Callable[[], bool], what: Callable[[], str], every: float = 0.05) -> None:
    """Call ``done`` until it is true; a hang (HANG_GUARD) fails with ``what()``. No test asserts a duration."""
    give_up = time.monotonic() + HANG_GUARD
    while not done():
        if time.monotonic() > give_up:
            raise AssertionError(f"hung: {what()}")
        time.sleep(every)


def _visible(page, selector: str):
    return page.locator(f"{selector} >> visible=true").first


def _status(page) -> str:
    return _visible(page, ".ds-status").inner_text()


def _read_status(page) -> tuple[str, str]:
    """(kind, text) of the status line, read at once: its kind from its class (ds-info, ds-done, ds-error,
    ds-cancelled), not from its words (a path may hold any word)."""
    classes, text = _visible(page, ".ds-status").evaluate("e => [e.className, e.innerText]")
    kind = next(c[3:] for c in classes.split() if c.startswith("ds-") and c != "ds-status")
    return kind, text


def _kind(page) -> str:
    return _read_status(page)[0]


def _wait_status(page, words: tuple[str, ...]) -> str:
    """The status text once its kind is one of ``words`` (done, error, cancelled), or its text holds one of the
    other words."""
    seen: list[str] = [""]

    def reached() -> bool:
        kind, seen[0] = _read_status(page)
        return kind in words or any(w in seen[0] for w in words if w not in ("done", "error", "cancelled"))

    _poll(reached, lambda: f"no {words} in the status; it says: {seen[0]!r}", every=0.1)
    return seen[0]


def _set_option(page, key: str, value: str) -> None:
    box = page.get_by_label(key, exact=True).locator("visible=true").first
    box.fill(value)
    box.press("Tab")


def _red_fraction(png: bytes) -> tuple[float, float]:
    """(share of strongly red pixels, share of non-white pixels) of a render."""
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    red = (r > 150) & (g < 110) & (b < 110)
    ink = (rgb < 230).any(-1)
    return float(red.mean()), float(ink.mean())


@pytest.mark.slow
@needs_gradio
def test_ui_end_to_end(browser, server, tmp_path):
    import cairosvg

    url, runs = server
    shots = tmp_path / "screenshots"
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page.goto(url)
    page.wait_for_selector(".ds-run", timeout=HANG_GUARD * 1000)

    # every page, as it first looks
    from dreamsampler3d.ui.pages import pages

    for k, p in enumerate(pages([s.name for s in specs()])):
        page.get_by_role("tab", name=p.title, exact=True).click()
        time.sleep(0.5)
        _shoot(page, shots, f"{k + 1}-{p.title.split(' /')[0].lower().replace(' ', '-')}")

    # text-to-SVG: type a prompt, run, watch the progress move, download the SVG
    page.get_by_role("tab", name="Text to SVG", exact=True).click()
    _visible(page, ".ds-prompt textarea, .ds-prompt input").fill("a red star on a white background")
    _set_option(page, "run.steps", "12")
    _visible(page, ".ds-run").click()
    steps, previews = set(), set()
    def watch() -> bool:
        steps.add(int(_visible(page, ".ds-progress").get_attribute("data-step")))
        img = page.locator(".ds-preview img >> visible=true")
        if img.count():
            previews.add(img.first.get_attribute("src"))
        return _kind(page) in ("done", "error")

    _poll(watch, lambda: _status(page))
    kind, status = _read_status(page)
    assert kind == "done", status
    inner = sorted(s for s in steps if 0 < s < 12)
    assert len(inner) >= 3, f"the progress bar showed only steps {sorted(steps)} of 12"
    assert len(previews) >= 2, "the current render was not updated during the run"
    assert _visible(page, ".ds-progress").get_attribute("data-step") == "12"
    _shoot(page, shots, "text-to-svg-result")
    with page.expect_download() as info:
        _visible(page, ".ds-files").locator('a[download="result.svg"]').first.click()
    svg = Path(info.value.path()).read_bytes()
    assert b"<svg" in svg and b"<path" in svg
    red, ink = _red_fraction(cairosvg.svg2png(bytestring=svg, output_width=256))
    assert ink > 0.02 and red > 0.02, f"the SVG renders {ink:.1%} ink, {red:.1%} red"
    command = _visible(page, ".ds-command").inner_text()
    assert "dreamsampler3d text-to-svg --prompt 'a red star on a white background' --steps 12" in command
    run_dir = next(runs.glob("text-to-svg-*"))
    assert (run_dir / "result.svg").read_bytes() == svg and (run_dir / "config.yaml").is_file()

    # an inpainting form, filled in (mask painted with the mouse) while the page is idle
    page.get_by_role("tab", name="Image edit / inpaint", exact=True).click()
    editor = _visible(page, ".ds-editor")
    editor.locator("canvas").first.wait_for()
    time.sleep(1)
    image = tmp_path / "photo.png"
    im = Image.new("RGB", (256, 256), "white")
    ImageDraw.Draw(im).rectangle([30, 30, 110, 110], fill="blue")
    im.save(image)
    editor.locator("input[type=file]").first.set_input_files(str(image))
    time.sleep(2)
    editor.locator("button[aria-label=Brush]").first.click()
    time.sleep(0.5)
    box = editor.locator("canvas").first.bounding_box()
    x0, y0 = box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.62
    page.mouse.move(x0, y0)
    page.mouse.down()
    for k in range(14):
        page.mouse.move(x0 + 5 * k, y0 + 4 * (k % 3), steps=2)
    page.mouse.up()
    _visible(page, ".ds-prompts textarea").fill("a yellow circle")
    _set_option(page, "run.steps", "6")

    # a long text-to-SVG run; the inpainting request queues behind it while the page stays usable; cancel the
    # long run (the page then prints how to continue it from the command line)
    page.get_by_role("tab", name="Text to SVG", exact=True).click()
    _set_option(page, "run.steps", "100")
    _visible(page, ".ds-overrides textarea").fill("run.checkpoint_every=2")
    _visible(page, ".ds-run").click()
    def under_way() -> bool:
        bar = _visible(page, ".ds-progress")
        return bar.get_attribute("data-total") == "100" and int(bar.get_attribute("data-step")) >= 3

    _poll(under_way, lambda: _status(page))
    page.get_by_role("tab", name="Image edit / inpaint", exact=True).click()
    _visible(page, ".ds-run").click()
    queued = _wait_status(page, ("run(s) ahead", "running ", "done", "error"))
    assert "queued: 1 run(s) ahead" in queued, queued
    _shoot(page, shots, "inpaint-queued")

    page.get_by_role("tab", name="Text to SVG", exact=True).click()
    _visible(page, ".ds-cancel").click()
    cancelled = _wait_status(page, ("cancelled",))
    resume = next((line for line in cancelled.splitlines() if line.startswith("dreamsampler3d text-to-svg")), None)
    assert resume is not None, f"no command to continue the run in: {cancelled!r}"
    assert "--resume" in resume and "--steps 100" in resume

    page.get_by_role("tab", name="Image edit / inpaint", exact=True).click()
    status = _wait_status(page, ("done", "error"))
    assert _kind(page) == "done", status
    inpaint = next(runs.glob("inpaint-*"))
    mask = np.asarray(Image.open(inpaint / "inputs" / "mask-1.png"))
    assert 0.005 < (mask > 0).mean() < 0.5, "the painted mask did not reach the run"
    assert (inpaint / "result.png").is_file()
    _shoot(page, shots, "inpaint-result")

    # the cancelled UI run continues from the command line, in the same folder
    argv = shlex.split(resume)[1:]
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    done = subprocess.run([sys.executable, "-m", "dreamsampler3d.cli.main", *argv, "--no-progress",
                           "run.checkpoint_every=0"], env=env, capture_output=True, text=True, timeout=600)
    # (checkpoint_every is not part of what the checkpoint must match: fewer stops to save)
    assert done.returncode == 0, done.stderr[-2000:]
    resumed = Path(argv[argv.index("--out") + 1])
    assert (resumed / "result.svg").is_file() and '"resumed_at_step": 0' not in (resumed / "metrics.json").read_text()

    # an invalid upload: the page shows the command line's own error line
    page.get_by_role("tab", name="SVG editing", exact=True).click()
    bad = tmp_path / "broken.svg"
    bad.write_text("<svg xmlns='http://www.w3.org/2000/svg'><path d='M0 0 L")
    _visible(page, ".ds-svg-file").locator("input[type=file]").set_input_files(str(bad))
    time.sleep(1)
    _visible(page, ".ds-prompt textarea, .ds-prompt input").fill("a blue star")
    _set_option(page, "run.steps", "4")
    _visible(page, ".ds-run").click()
    shown = _wait_status(page, ("error",)).strip()
    assert shown.startswith("dreamsampler3d: error: ") and "broken.svg" in shown, shown
    copied = next(word.rstrip(":") for word in shown.split() if word.rstrip(":").endswith("broken.svg"))
    proc = subprocess.run([sys.executable, "-m", "dreamsampler3d.cli.main", "edit-svg", "--svg", copied, "--prompt",
                           "a blue star", "--out", str(tmp_path / "cli-bad")], env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 2 and proc.stderr.strip().splitlines()[-1] == shown
    _shoot(page, shots, "edit-svg-error")
    page.close()


def test_uploads_over_the_limit_are_refused(tmp_path, monkeypatch):
    from dreamsampler3d.errors import UserError
    from dreamsampler3d.ui import forms

    big = tmp_path / "big.png"
    big.write_bytes(b"\0" * 2 * 1024 * 1024)
    monkeypatch.setattr(forms, "MAX_UPLOAD_MB", 1)
    with pytest.raises(UserError, match=r"upload big.png: 2.0 MB, more than the 1 MB upload limit"):
        forms.build_run("vectorize", {"image": str(big)}, tmp_path / "runs")
    assert not any((tmp_path / "runs").glob("*"))


# ------------------------------------------------------------------ hostile input (issue 23): paths, images, worker
def _private_image(folder: Path) -> Path:
    """A file of the server the page's user never uploaded."""
    path = folder / "private.png"
    Image.new("RGB", (16, 16), (12, 34, 56)).save(path)
    return path


@pytest.mark.parametrize("task,line", [
    ("vectorize", "image={private}"),
    ("vectorize", " image = {private}"),
    ("vectorize", "image.={private}"),
    ("inpaint", "masks=[{private}]"),
    ("inpaint", "masks.0={private}"),
    ("restore-svg", "mask={private}"),
    ("edit-svg", "svg_file={private}"),
    ("vectorize", "run.out={folder}/elsewhere"),
    ("vectorize", "run={{out: {folder}/elsewhere}}"),
    ("vectorize", "run.resume={folder}/last.ckpt"),
    ("text-to-svg", "prior.model={folder}"),
    ("text-to-svg", "prior={{model: {folder}}}"),
    ("text-to-svg", "config={folder}/config.yaml"),
])
def test_key_value_lines_naming_server_files_are_refused(tmp_path, task, line):
    """Typing a server path into the key=value box, with no upload, must not make the run read that file (it
    would be copied to the run's input.png and offered for download): the form refuses the line, saying so."""
    from dreamsampler3d.errors import UserError
    from dreamsampler3d.ui.forms import build_run

    private = _private_image(tmp_path)
    typed = line.format(private=private, folder=tmp_path)
    values = {"overrides": f"run.steps=2\n{typed}", "prompt": "a red star", "prompts": "a red star"}
    with pytest.raises(UserError, match=r"names a file or folder on the server, which the web interface does not read"):
        build_run(task, values, tmp_path / "runs")
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_interpolations_cannot_read_the_server_environment(tmp_path, monkeypatch):
    """${oc.env:...} in a prompt or a key=value line would put the server's environment into the run's config."""
    from dreamsampler3d.errors import UserError
    from dreamsampler3d.ui.forms import build_run

    monkeypatch.setenv("DS_SECRET", "hunter2")
    for values in ({"prompt": "${oc.env:DS_SECRET}"}, {"prompt": "a star", "overrides": "prior.negative_prompt=${oc.env:DS_SECRET}"}):
        with pytest.raises(UserError, match="interpolations are not allowed"):
            build_run("text-to-svg", values, tmp_path / "runs")


def _sixteen_bit_png(path: Path, value: int) -> Path:
    Image.fromarray(np.full((24, 32), value, np.uint16)).save(path)  # mode I;16
    assert Image.open(path).mode == "I;16"
    return path


@needs_gradio
def test_sixteen_bit_upload_reaches_the_run_as_the_cli_reads_it(tmp_path):
    """The page's image widget hands over the uploaded file itself: the run reads it with the CLI's loader, which
    scales 16-bit channels (40000 -> 156), where Gradio's own conversion to RGB clipped them to 255."""
    from gradio.data_classes import ImageData

    from dreamsampler3d.io.images import load_image
    from dreamsampler3d.ui.forms import build_run
    from dreamsampler3d.ui.uploads import ImageFile

    upload = _sixteen_bit_png(tmp_path / "deep.png", 40000)
    widget = ImageFile(type="filepath", sources=["upload"])  # as ui/pages.py makes it
    handed = widget.preprocess(ImageData(path=str(upload), orig_name="deep.png"))
    cfg = build_run("vectorize", {"image": handed, "run.steps": 2}, tmp_path / "runs")
    assert Path(cfg.image).read_bytes() == upload.read_bytes()  # the file as sent
    seen = np.asarray(load_image(cfg.image))
    assert np.array_equal(seen, np.asarray(load_image(upload))) and int(seen[0, 0, 0]) == 156, seen[0, 0]


def test_painted_image_keeps_its_transparency_for_the_cli_loader(tmp_path):
    """The mask painter's background is saved with its alpha, so the run's loader puts transparent parts on
    white as the CLI does with the same file (the canvas stores black under alpha 0)."""
    from dreamsampler3d.io.images import load_image
    from dreamsampler3d.ui.forms import build_run

    image = np.zeros((32, 32, 4), np.uint8)
    image[:16] = (0, 0, 255, 255)  # the top half blue, the bottom transparent
    layer = np.zeros((32, 32, 4), np.uint8)
    layer[4:12, 4:12] = 255
    cfg = build_run("inpaint", {"image": {"background": image, "layers": [layer]}, "prompts": "a yellow circle",
                                "run.steps": 2}, tmp_path)
    seen = np.asarray(load_image(cfg.image))
    assert tuple(seen[0, 0]) == (0, 0, 255) and tuple(seen[-1, -1]) == (255, 255, 255), (seen[0, 0], seen[-1, -1])


def _bomb_png(path: Path, side: int) -> Path:
    """A 1-bit PNG of side x side black pixels: a few tens of KB on disk, side**2 pixels decoded."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    packer, row = zlib.compressobj(9), b"\0" * (1 + (side + 7) // 8)  # filter byte + packed bits
    body = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0))
                     + chunk(b"IDAT", body) + chunk(b"IEND", b""))
    return path


BOMB_CHECK = """
import json, resource, sys, time
import gradio as gr
from gradio.components.image_editor import EditorData
from gradio.data_classes import FileData, ImageData
from dreamsampler3d.errors import UserError
from dreamsampler3d.ui.forms import build_run
from dreamsampler3d.ui.uploads import ImageFile, image_editor
import dreamsampler3d.config  # torch and the tasks: imported before the baseline is taken

bomb, runs, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
base, start, said = peak(), time.perf_counter(), {}
try:
    handed = ImageFile(type="filepath").preprocess(ImageData(path=bomb, orig_name="bomb.png"))
    build_run("vectorize", {"image": handed}, runs)
except UserError as exc:
    said["form"] = str(exc)
try:
    editor = image_editor(limit, type="numpy", image_mode="RGBA", layers=True)
    editor.preprocess(EditorData(background=FileData(path=bomb, orig_name="bomb.png"), layers=[],
                                 composite=FileData(path=bomb, orig_name="bomb.png")))
except gr.Error as exc:
    said["editor"] = exc.message
print(json.dumps({**said, "extra_mb": peak() - base, "seconds": time.perf_counter() - start}))
"""


@needs_gradio
def test_huge_uploads_are_refused_before_decoding(tmp_path):
    """A PNG of 13000 x 13000 pixels in a few tens of KB: the image widget and the mask painter both refuse it
    from its header, in a second and a few MB, where decoding it (Gradio's conversion) took gigabytes."""
    from dreamsampler3d.io.images import MAX_IMAGE_PIXELS

    bomb = _bomb_png(tmp_path / "bomb.png", 13000)
    assert bomb.stat().st_size < 100_000
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.run([sys.executable, "-c", BOMB_CHECK, str(bomb), str(tmp_path / "runs"), str(MAX_IMAGE_PIXELS)],
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    said = __import__("json").loads(proc.stdout.strip().splitlines()[-1])
    refusal = f"13000x13000 is 169,000,000 pixels, more than the limit of {MAX_IMAGE_PIXELS:,} pixels (refused before decoding)"
    assert said.get("form") == f"upload bomb.png: {refusal}", said
    assert said.get("editor") == f"dreamsampler3d: error: image background: {refusal}", said
    assert said["extra_mb"] < 100, f"refusing it took {said['extra_mb']:.0f} MB more: the pixels were decoded"
    assert not any((tmp_path / "runs").glob("*/inputs/*"))


def _events(job, what: str) -> list:
    """Every event of a job up to its final one; a hang fails naming ``what`` (HANG_GUARD, no duration asserted)."""
    import threading

    got: list = []
    reader = threading.Thread(target=lambda: got.extend(job.stream()), daemon=True)
    reader.start()
    reader.join(HANG_GUARD)
    assert not reader.is_alive(), f"hung: {what}; events so far {[type(e).__name__ for e in got]}"
    return got


def _square(folder: Path) -> Path:
    path = folder / "square.png"
    im = Image.new("RGB", (64, 64), "white")
    ImageDraw.Draw(im).rectangle([12, 12, 44, 44], fill="red")
    im.save(path)
    return path


def _gone(pid: int) -> bool:
    """The process has exited (a zombie nobody reaped yet counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_dead_worker_is_replaced(tmp_path):
    """Kill the worker mid-run: that run fails saying the worker stopped and was restarted; the next run
    is accepted by a new worker, completes, and its page says the worker was restarted."""
    import signal as signals

    from dreamsampler3d.ui.events import Done, Failed, Log, Progress
    from dreamsampler3d.ui.worker import RemoteRuns

    image, runs = _square(tmp_path), RemoteRuns()
    try:
        runs.catalogue()
        first = runs.pid()
        long = runs.submit("vectorize", {"image": image, "run.steps": 500}, tmp_path / "runs")
        while not isinstance(long.events.get(timeout=HANG_GUARD), Progress):
            pass
        os.kill(first, signals.SIGKILL)
        failed = _events(long, "the killed worker's run never ended")[-1]
        assert isinstance(failed, Failed) and "stopped (killed by SIGKILL" in failed.message, failed
        assert "restarted" in failed.message
        events = _events(runs.submit("vectorize", {"image": image, "run.steps": 3}, tmp_path / "runs"),
                         "the run after the worker died")
        notes = [e.message for e in events if isinstance(e, Log)]
        assert any("worker process" in n and "restarted" in n for n in notes), notes
        assert isinstance(events[-1], Done), events[-1]
        assert (Path(events[-1].out) / "result.svg").is_file()
        assert runs.pid() not in (None, first)
    finally:
        runs.close()
    assert _gone(first)


SERVER_DIES = """
import sys, time
from dreamsampler3d.ui.events import Failed, Progress
from dreamsampler3d.ui.worker import RemoteRuns

if __name__ == "__main__":
    runs = RemoteRuns()
    runs.catalogue()
    job = runs.submit("vectorize", {"image": sys.argv[1], "run.steps": 1000}, sys.argv[2])
    while not isinstance(event := job.events.get(), Progress):
        if isinstance(event, Failed):  # say so, rather than leave the test waiting for a pid
            print("failed:", event.message, flush=True)
            sys.exit(1)
    print(runs.pid(), flush=True)
    time.sleep(600)
"""


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_the_worker_does_not_outlive_the_server(tmp_path, how):
    """The web process stopped by a signal (no clean-up runs) while its worker is mid-run: the worker goes too."""
    import signal as signals

    script = tmp_path / "server.py"
    script.write_text(SERVER_DIES)
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    server = subprocess.Popen([sys.executable, str(script), str(_square(tmp_path)), str(tmp_path / "runs")],
                              env=env, stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        assert line.strip().isdigit(), f"the server's run did not start: {line!r}"
        worker = int(line)
        server.send_signal(getattr(signals, how))
        server.wait(timeout=60)
        give_up = time.monotonic() + 30  # it polls its parent every second; the kernel kills it at once
        while not _gone(worker) and time.monotonic() < give_up:
            time.sleep(0.1)
        alive = not _gone(worker)
        if alive:
            os.kill(worker, signals.SIGKILL)
        assert not alive, f"the worker {worker} outlived the server stopped by {how} by 30 s"
    finally:
        server.kill()
