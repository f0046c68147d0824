"""The dataset registry: a new dataset is one module plus one line here."""

from __future__ import annotations

from typing import Callable

from vaebench.data.base import ArrayDataset, Dataset, FactorDataset, Sample
from vaebench.data.digits import load_digits_dataset
from vaebench.data.dsprites import ColorDSprites, DSprites, NoisyDSprites
from vaebench.data.files import DSpritesFile, load_mnist_like
from vaebench.data.sines import Sines
from vaebench.data.two_views import TwoViews, inverted, outline
from vaebench.errors import VaebenchError

#: what kind of observations a dataset's samples hold, when it is not "images"
KINDS = {"sines": "sequences", "dsprites_inverted": "two_views", "dsprites_outline": "two_views",
         "digits_inverted": "two_views", "mnist_inverted": "two_views"}

#: name -> factory(image_size, data_path); file datasets need a data_path
DATASETS: dict[str, Callable[[int | None, str | None], Dataset]] = {
    "dsprites": lambda size, path: DSprites(size or 64),
    "color_dsprites": lambda size, path: ColorDSprites(size or 64),
    "noisy_dsprites": lambda size, path: NoisyDSprites(size or 64),
    "digits": lambda size, path: load_digits_dataset(),
    "sines": lambda size, path: Sines(),
    "dsprites_inverted": lambda size, path: TwoViews("dsprites_inverted", DSprites(size or 64), inverted),
    "dsprites_outline": lambda size, path: TwoViews("dsprites_outline", DSprites(size or 64), outline),
    "digits_inverted": lambda size, path: TwoViews("digits_inverted", load_digits_dataset(), inverted),
    "mnist_inverted": lambda size, path: TwoViews("mnist_inverted", load_mnist_like("mnist", _needs(path, "mnist_inverted")), inverted),
    "dsprites_npz": lambda size, path: DSpritesFile(_needs(path, "dsprites_npz")),
    "mnist": lambda size, path: load_mnist_like("mnist", _needs(path, "mnist")),
    "fashion_mnist": lambda size, path: load_mnist_like("fashion_mnist", _needs(path, "fashion_mnist")),
}


#: the datasets read from a local file or folder (``--data-path``); every other one is built in
FILE_DATASETS = ("dsprites_npz", "mnist", "fashion_mnist", "mnist_inverted")


def _needs(path: str | None, name: str) -> str:
    if path is None:
        raise VaebenchError(f"dataset {name} is read from a local file: pass --data-path")
    return path


def dataset_names() -> list[str]:
    return list(DATASETS)


def dataset_kind(name: str) -> str:
    """"images", "sequences" or "two_views", without building the dataset."""
    if name not in DATASETS:
        raise VaebenchError(f"unknown dataset {name!r}; accepted: {', '.join(DATASETS)}")
    return KINDS.get(name, "images")


def get_dataset(name: str, image_size: int | None = None, data_path: str | None = None) -> Dataset:
    """Build a dataset by name; ``image_size`` None means the dataset's natural size."""
    if name not in DATASETS:
        raise VaebenchError(f"unknown dataset {name!r}; accepted: {', '.join(DATASETS)}")
    try:
        return DATASETS[name](image_size, data_path)
    except ValueError as error:
        raise VaebenchError(f"dataset {name}: {error}") from None


__all__ = ["ArrayDataset", "Dataset", "FactorDataset", "Sample", "DATASETS", "FILE_DATASETS", "dataset_kind", "dataset_names", "get_dataset"]
