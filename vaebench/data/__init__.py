"""The dataset registry: a new dataset is one module plus one line here."""

from __future__ import annotations

from dataclasses import dataclass
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
from vaebench.kinds import DataKind


@dataclass(frozen=True)
class Entry:
    """One dataset: how it is built (image size, file source) and what its samples hold."""

    build: Callable[[int | None, DataSource | None], Dataset]
    kind: DataKind = DataKind.IMAGES
    #: read from a local file or folder (``--data-path``) rather than built in; ``build`` then gets its source
    from_file: bool = False


DATASETS: dict[str, Entry] = {
    "dsprites": Entry(lambda size, source: DSprites(size or 64)),
    "color_dsprites": Entry(lambda size, source: ColorDSprites(size or 64)),
    "noisy_dsprites": Entry(lambda size, source: NoisyDSprites(size or 64)),
    "digits": Entry(lambda size, source: load_digits_dataset()),
    "sines": Entry(lambda size, source: Sines(), DataKind.SEQUENCES),
    "dsprites_inverted": Entry(lambda size, source: TwoViews("dsprites_inverted", DSprites(size or 64), inverted),
                               DataKind.TWO_VIEWS),
    "dsprites_outline": Entry(lambda size, source: TwoViews("dsprites_outline", DSprites(size or 64), outline),
                              DataKind.TWO_VIEWS),
    "digits_inverted": Entry(lambda size, source: TwoViews("digits_inverted", load_digits_dataset(), inverted),
                             DataKind.TWO_VIEWS),
    "mnist_inverted": Entry(lambda size, source: TwoViews("mnist_inverted", load_mnist_like("mnist", source.path), inverted),
                            DataKind.TWO_VIEWS, from_file=True),
    "dsprites_npz": Entry(lambda size, source: DSpritesFile(source.path), from_file=True),
    "mnist": Entry(lambda size, source: load_mnist_like("mnist", source.path), from_file=True),
    "fashion_mnist": Entry(lambda size, source: load_mnist_like("fashion_mnist", source.path), from_file=True),
    "labour": Entry(lambda size, source: Labour(), DataKind.TABLES),
    "wine": Entry(lambda size, source: load_sklearn_table("wine"), DataKind.TABLES),
    "breast_cancer": Entry(lambda size, source: load_sklearn_table("breast_cancer"), DataKind.TABLES),
    "csv": Entry(lambda size, source: read_csv_table(source.path, source.label_column, source.factor_columns,
                                                     source.categorical), DataKind.TABLES, from_file=True),
}

#: the datasets read from a local file or folder (``--data-path``); every other one is built in
FILE_DATASETS = tuple(name for name, entry in DATASETS.items() if entry.from_file)


def _entry(name: str) -> Entry:
    if name not in DATASETS:
        raise VaebenchError(f"unknown dataset {name!r}; accepted: {', '.join(DATASETS)}")
    return DATASETS[name]


def dataset_names() -> list[str]:
    return list(DATASETS)


def dataset_kind(name: str) -> DataKind:
    """What the dataset's samples hold, without building the dataset."""
    return _entry(name).kind


def get_dataset(name: str, image_size: int | None = None, data_path: str | DataSource | None = None) -> Dataset:
    """Build a dataset by name; ``image_size`` None means the dataset's natural size.

    ``data_path``: where a file dataset is read from, a path or a :class:`DataSource` (a path with a CSV's options).
    """
    entry = _entry(name)
    source = DataSource(data_path) if isinstance(data_path, str) else data_path
    if entry.from_file and source is None:
        raise VaebenchError(f"dataset {name} is read from a local file: pass --data-path")
    try:
        dataset = entry.build(image_size, source)
    except ValueError as error:
        raise VaebenchError(f"dataset {name}: {error}") from None
    if entry.from_file:
        dataset.fingerprint = data_fingerprint(source)
    return dataset


__all__ = ["ArrayDataset", "DataSource", "Dataset", "FactorDataset", "Sample", "TableDataset", "DATASETS", "FILE_DATASETS",
           "dataset_kind", "dataset_names", "get_dataset"]
