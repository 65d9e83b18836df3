"""``python killed_after_checkpoint.py K ARGS...``: the real CLI in a real process (``dreamsampler3d ARGS...``), which
SIGKILLs itself right after the checkpoint of step K is in place.

The resume tests kill runs this way rather than by polling the folder from outside: the kill point is the same on
every machine and under any load. Nothing persistent is written between one checkpoint and the next (the tests
turn snapshots off), so this stands for a kill anywhere in step K + 1.
"""

from __future__ import annotations

import os
import signal
import sys

from dreamsampler3d.cli.main import main
from dreamsampler3d.tasks.callbacks import AtomicCheckpoint


def _kill_after(step: int) -> None:
    write = AtomicCheckpoint.on_train_epoch_end

    def write_then_die(self, trainer, pl_module) -> None:
        write(self, trainer, pl_module)
        if trainer.current_epoch + 1 == step:
            os.kill(os.getpid(), signal.SIGKILL)

    AtomicCheckpoint.on_train_epoch_end = write_then_die


if __name__ == "__main__":
    _kill_after(int(sys.argv[1]))
    sys.exit(main(sys.argv[2:]))
