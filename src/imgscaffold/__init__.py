"""Start and keep up Docker image repositories that meet one image standard."""

__version__ = "0.1.0"
