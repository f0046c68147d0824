"""vaebench: which autoencoder architecture and latent size gives a structured latent space, at what cost."""

from vaebench.results.experiments import (checkpoints_frame, load_experiments, load_references, metrics_frame,
                                          scores_by_step_frame)

__version__ = "0.1.0"
__all__ = ["checkpoints_frame", "load_experiments", "load_references", "metrics_frame", "scores_by_step_frame", "__version__"]
