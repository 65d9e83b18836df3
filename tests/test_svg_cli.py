"""``render-svg`` command: PNG output, one-line errors with exit status 2."""

from __future__ import annotations

import numpy as np
from PIL import Image

from dreamsampler3d.cli.render_svg import main

SVG = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 20 10"><rect x="2" y="2" width="6" height="6" fill="#f00"/></svg>'


def test_render_svg_writes_png(tmp_path):
    src = tmp_path / "in.svg"
    src.write_text(SVG)
    out = tmp_path / "out.png"
    assert main([str(src), "--size", "40", "--out", str(out)]) == 0
    im = np.asarray(Image.open(out))
    assert im.shape == (20, 40, 4)  # height follows the viewBox aspect ratio
    assert tuple(im[10, 10]) == (255, 0, 0, 255) and im[1, 30, 3] == 0
    assert main([str(src), "--size", "40", "--out", str(out), "--background", "white"]) == 0
    assert np.asarray(Image.open(out)).shape == (20, 40, 3)


def test_render_svg_errors_are_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.svg"
    bad.write_text("<svg><g></svg>")
    for argv in ([str(bad), "--out", str(tmp_path / "o.png")],
                 [str(tmp_path / "missing.svg"), "--out", str(tmp_path / "o.png")],
                 [str(bad), "--size", "0", "--out", str(tmp_path / "o.png")]):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("dreamsampler3d: error: ")


def test_render_svg_warns_about_skipped_content(tmp_path, capsys):
    src = tmp_path / "t.svg"
    src.write_text('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><text>hi</text><rect width="4" height="4"/></svg>')
    assert main([str(src), "--size", "10", "--out", str(tmp_path / "o.png")]) == 0
    assert "warning: SVG content not supported, skipped: text" in capsys.readouterr().err
