"""The pipeline's stages and executors: ``runner`` plans a grid and runs it locally (``packing`` trains packs of
cells, ``train`` one cell, from ``batches``; ``checkpoints`` scores along training; ``scoring_pool`` scores
in processes; ``references`` the calibration rows), ``shards`` splits a grid across machines, and
``ray_executor`` runs it on a Ray cluster. Everything here sits above the models, metrics and results it drives."""
