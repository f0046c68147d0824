"""The dataset registry: a new dataset is one module plus one line here."""

from __future__ import annotations

from typing import Callable

from vaebench.data.base import ArrayDataset, Dataset, FactorDataset, Sample
from vaebench.data.digits import load_digits_dataset
from vaebench.data.dsprites import ColorDSprites, DSprites, NoisyDSprites
from vaebench.data.files import DSpritesFile, data_fingerprint, load_mnist_like
from vaebench.data.labour import Labour
from vaebench.data.sines import Sines
from vaebench.data.source import DataSource
from vaebench.data.tables import TableDataset, load_sklearn_table, read_csv_table
from vaebench.data.two_views import TwoViews, inverted, outline
from vaebench.errors import VaebenchError

#: what kind of observations a dataset's samples hold, when it is not "images"
KINDS = {"sines": "sequences", "dsprites_inverted": "two_views", "dsprites_outline": "two_views",
         "digits_inverted": "two_views", "mnist_inverted": "two_views",
         "labour": "tables", "wine": "tables", "breast_cancer": "tables", "csv": "tables"}

#: name -> factory(image_size, source); file datasets need a source
DATASETS: dict[str, Callable[[int | None, DataSource | None], Dataset]] = {
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
    "labour": lambda size, path: Labour(),
    "wine": lambda size, path: load_sklearn_table("wine"),
    "breast_cancer": lambda size, path: load_sklearn_table("breast_cancer"),
    "csv": lambda size, source: read_csv_table(_needs(source, "csv"), source.label_column, source.factor_columns,
                                               source.categorical),
}


#: the datasets read from a local file or folder (``--data-path``); every other one is built in
FILE_DATASETS = ("dsprites_npz", "mnist", "fashion_mnist", "mnist_inverted", "csv")


def _needs(source: DataSource | None, name: str) -> str:
    if source is None:
        raise VaebenchError(f"dataset {name} is read from a local file: pass --data-path")
    return source.path


def dataset_names() -> list[str]:
    return list(DATASETS)


def dataset_kind(name: str) -> str:
    """"images", "sequences", "two_views" or "tables", without building the dataset."""
    if name not in DATASETS:
        raise VaebenchError(f"unknown dataset {name!r}; accepted: {', '.join(DATASETS)}")
    return KINDS.get(name, "images")


def get_dataset(name: str, image_size: int | None = None, data_path: str | DataSource | None = None) -> Dataset:
    """Build a dataset by name; ``image_size`` None means the dataset's natural size.

    ``data_path``: where a file dataset is read from, a path or a :class:`DataSource` (a path with a CSV's options).
    """
    if name not in DATASETS:
        raise VaebenchError(f"unknown dataset {name!r}; accepted: {', '.join(DATASETS)}")
    source = DataSource(data_path) if isinstance(data_path, str) else data_path
    try:
        dataset = DATASETS[name](image_size, source)
    except ValueError as error:
        raise VaebenchError(f"dataset {name}: {error}") from None
    if name in FILE_DATASETS:
        dataset.fingerprint = data_fingerprint(source)
    return dataset


__all__ = ["ArrayDataset", "DataSource", "Dataset", "FactorDataset", "Sample", "TableDataset", "DATASETS", "FILE_DATASETS",
           "dataset_kind", "dataset_names", "get_dataset"]
