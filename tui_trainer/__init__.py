"""tui-trainer: a PyTorch trainer that lives in the terminal."""

__version__ = "0.1.0"
