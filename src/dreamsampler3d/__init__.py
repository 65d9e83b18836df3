"""dreamsampler3d: DreamSampler over Stable-Diffusion-family priors for images, SVG and 3D."""

__version__ = "0.1.0"
