"""The web interface (``dreamsampler3d ui``; needs the ``[ui]`` extra). Nothing here is imported by the CLI's
other subcommands, so the tool works without Gradio installed."""
