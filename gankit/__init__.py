"""gankit: train generative adversarial networks and see what they do."""

__version__ = "0.1.0"
