"""The dataset registry: a new dataset is one module plus one line here."""

from __future__ import annotations

from typing import Callable

from vaebench.data.base import ArrayDataset, Dataset, FactorDataset, Sample
from vaebench.data.digits import load_digits_dataset
from vaebench.data.dsprites import ColorDSprites, DSprites, NoisyDSprites
from vaebench.data.files import DSpritesFile, load_mnist_like
from vaebench.errors import VaebenchError

#: name -> factory(image_size, data_path); file datasets need a data_path
DATASETS: dict[str, Callable[[int | None, str | None], Dataset]] = {
    "dsprites": lambda size, path: DSprites(size or 64),
    "color_dsprites": lambda size, path: ColorDSprites(size or 64),
    "noisy_dsprites": lambda size, path: NoisyDSprites(size or 64),
    "digits": lambda size, path: load_digits_dataset(),
    "dsprites_npz": lambda size, path: DSpritesFile(_needs(path, "dsprites_npz")),
    "mnist": lambda size, path: load_mnist_like("mnist", _needs(path, "mnist")),
    "fashion_mnist": lambda size, path: load_mnist_like("fashion_mnist", _needs(path, "fashion_mnist")),
}


def _needs(path: str | None, name: str) -> str:
    if path is None:
        raise VaebenchError(f"dataset {name} is read from a local file: pass --data-path")
    return path


def dataset_names() -> list[str]:
    return list(DATASETS)


def get_dataset(name: str, image_size: int | None = None, data_path: str | None = None) -> Dataset:
    """Build a dataset by name; ``image_size`` None means the dataset's natural size."""
    if name not in DATASETS:
        raise VaebenchError(f"unknown dataset {name!r}; accepted: {', '.join(DATASETS)}")
    try:
        return DATASETS[name](image_size, data_path)
    except ValueError as error:
        raise VaebenchError(f"dataset {name}: {error}") from None


__all__ = ["ArrayDataset", "Dataset", "FactorDataset", "Sample", "DATASETS", "dataset_names", "get_dataset"]
