"""The web interface (``dreamsampler3d ui``; needs the ``[ui]`` extra). Nothing here is imported by the CLI's
other subcommands, so the tool works without Gradio installed."""

import os

# Gradio reports usage to its servers unless told not to: a local tool (and its tests) must not touch the network.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
