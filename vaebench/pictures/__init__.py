"""A cell's pictures: the folder's vocabulary (``spec``, Keras-free, what the report reads), the latents every
picture shows (``latents``), one drawer per data kind (``images`` for images and sequences, ``tables``, ``two_views``) and the
dispatcher on top (``draw``). Importing this package imports none of them, so the report can read ``spec``
without loading a drawer."""
