"""Atomic outputs: the user's umask, never half a file or a missing folder."""

from __future__ import annotations

import os
import stat

import pytest

from dreamsampler3d.io.files import atomic_file, atomic_folder
from dreamsampler3d.io.images import save_text


def test_files_get_the_users_umask_not_0600(tmp_path):
    old = os.umask(0o022)
    try:
        path = save_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = save_text(tmp_path / "a.txt", "old")

    def broken(tmp):
        tmp.write_text("half")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        atomic_file(path, broken)
    assert path.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_folders_are_swapped_whole(tmp_path):
    out = tmp_path / "model"
    atomic_folder(out, lambda d: (d / "weights").write_text("v1"))
    atomic_folder(out, lambda d: (d / "weights").write_text("v2"))
    assert (out / "weights").read_text() == "v2" and sorted(p.name for p in tmp_path.iterdir()) == ["model"]

    def broken(d):
        (d / "weights").write_text("half")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        atomic_folder(out, broken)
    assert (out / "weights").read_text() == "v2" and sorted(p.name for p in tmp_path.iterdir()) == ["model"]
