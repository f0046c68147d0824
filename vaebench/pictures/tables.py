"""What a table cell's report page shows instead of pictures: per-column reconstruction quality, traversals
as each column's decoded value along a latent, and the codes of held-out records with every column's value.

``draw_table_pictures`` writes two files into a cell's pictures folder:

``pictures.json`` (PICTURES_FILE, as for image cells, but for a table; ``vaebench.results.records.TablePictures``)::

    {"version": PICTURES_VERSION, "kind": "tables",
     "likelihood": "log p(x|z) is the sum over the columns ... (one sentence for the page)",
     "columns": [{"name", "kind" ("numeric" | "categorical" | "binary"), "categories" (names; [] for numeric),
                  "std" (a numeric column's standard deviation in the training data, the unit it was standardised by),
                  "quality" (number), "quality_name" ("R²" numeric, "accuracy" otherwise)}],
     "strength": [per latent: mean KL in nats (Gaussian encoders) or variance of the codes (autoencoders)],
     "strength_name": as for image cells (vaebench.pictures.latents.strength_name),
     "gaussian": whether the encoder is Gaussian (the traversal values' unit),
     "order": [latents, strongest first],
     "traversal_record": the held-out record whose code the traversals start from (column name → value),
     "traversals": [{"latent": index, "strength": number,
                     "values": [13 values of the latent (vaebench.pictures.latents.traversal_values: −3 … 3 in prior
                                units; an autoencoder's ±3 standard deviations of its codes)],
                     "columns": {name: [13 numbers] (numeric: the de-standardised decoded mean)
                                     | [13 lists of one probability per category] (categorical, binary)}}]}

Traversals cover the informative latents (as vaebench.pictures.latents.latent_order decides), strongest first. Quality is measured on held-out records decoded from their posterior mean: R² of the
decoded mean for a numeric column, the share of records whose most probable category is theirs otherwise.

``latents.csv``: one row per held-out record (the first SCATTER_RECORDS of them): the codes of the LATENT_COLUMNS
strongest latents (``z<i>``), then every column's value (numbers; category names), then the label
(``label``) and factors where the dataset has them, so a scatter matrix can be coloured by any of them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vaebench.data.base import Dataset
from vaebench.data.columns import Column, decode_means, raw_values
from vaebench.kinds import DataKind
from vaebench.metrics.sampling import decode, encode
from vaebench.models.likelihoods import likelihood_from_config
from vaebench.pictures.latents import latent_order, strength_name, traversal_values
from vaebench.pictures.spec import PICTURES_VERSION
from vaebench.results.layout import LATENTS_FILE
from vaebench.results.records import ModelCard, TablePictures, write_pictures_file

#: held-out records the column qualities are measured on
LATENT_RECORDS = 1000
#: of them, the records latents.csv keeps: a scatter matrix shows its structure with these, and a study's 60 cells
#: publish in a few MB (1,000 records made a labour cell's latents.csv 144 KB)
SCATTER_RECORDS = 200
LATENT_COLUMNS = 4
LIKELIHOOD_SENTENCE = ("log p(x|z) is the sum over the columns of each column's log-likelihood, in nats per record: "
                       "a unit-variance Gaussian on standardised numeric columns, a softmax over a categorical "
                       "column's categories, a Bernoulli for a binary column.")


def _quality(column: Column, decoded, true) -> float:
    if column.numeric:
        spread = np.sum((true - true.mean()) ** 2)
        return float(1.0 - np.sum((decoded - true) ** 2) / spread) if spread > 0 else float("nan")
    return float(np.mean(column.probabilities(decoded).argmax(axis=1) == true))


def _per_category(column: Column, decoded: np.ndarray) -> list:
    """A column's decoded values along a traversal, as columns.json holds them."""
    if column.numeric:
        return [round(float(v), 5) for v in decoded]
    return [[round(float(p), 5) for p in row] for row in column.probabilities(decoded)]


def draw_table_pictures(encoder, decoder, card: ModelCard, dataset: Dataset, out_dir: Path) -> None:
    """PICTURES_FILE and ``latents.csv`` of a table cell (see the module docstring) into ``out_dir``."""
    import pandas as pd

    out_dir = Path(out_dir)
    likelihood = likelihood_from_config(card.likelihood)
    columns = likelihood.columns
    sample = dataset.sample(LATENT_RECORDS, np.random.default_rng(0), split="test")
    labels = sample.labels if card.reads_labels else None
    mean, logvar = encode(encoder, sample.images, labels, dataset.num_classes)

    def decoded(codes: np.ndarray, code_labels) -> dict:
        outputs = decode(decoder, codes.astype(np.float32), code_labels, dataset.num_classes)
        return decode_means(columns, likelihood.mean(outputs))

    order, strength, is_informative = latent_order(mean, logvar)
    informative = [int(i) for i in order if is_informative[i]]

    true = raw_values(columns, sample.images)
    reconstructed = decoded(mean, labels)
    column_entries = [{"name": c.name, "kind": c.kind, "categories": list(c.categories), "std": c.std,
                       "quality": round(_quality(c, reconstructed[c.name], true[c.name]), 5),
                       "quality_name": "R²" if c.numeric else "accuracy"} for c in columns]

    values = traversal_values(mean, card.gaussian)
    traversals = []
    for latent in informative:
        codes = np.repeat(mean[:1], len(values), axis=0)
        codes[:, latent] = values[:, latent]
        along = decoded(codes, None if labels is None else np.repeat(labels[:1], len(values)))
        traversals.append({"latent": latent, "strength": round(float(strength[latent]), 6),
                           "values": [round(float(v), 4) for v in values[:, latent]],
                           "columns": {c.name: _per_category(c, along[c.name]) for c in columns}})
    record = {c.name: (round(float(true[c.name][0]), 5) if c.numeric else c.categories[true[c.name][0]])
              for c in columns}
    out_dir.mkdir(parents=True, exist_ok=True)
    write_pictures_file(out_dir, TablePictures(
        version=PICTURES_VERSION, kind=DataKind.TABLES, likelihood=LIKELIHOOD_SENTENCE, columns=column_entries,
        strength=[round(float(v), 6) for v in strength], strength_name=strength_name(logvar is not None),
        gaussian=bool(card.gaussian), order=[int(i) for i in order], traversal_record=record, traversals=traversals))

    frame = pd.DataFrame({f"z{i}": mean[:, i].round(4) for i in order[:LATENT_COLUMNS]})
    for column in columns:
        frame[column.name] = column.readable(true[column.name])
    if sample.labels is not None:
        names = dataset.label_names
        frame["label"] = np.asarray(names, dtype=object)[sample.labels] if names else sample.labels
    for j, name in enumerate(dataset.factor_names if sample.factors is not None else ()):
        frame[name] = sample.factors[:, j]
    frame.head(SCATTER_RECORDS).to_csv(out_dir / LATENTS_FILE, index=False)
