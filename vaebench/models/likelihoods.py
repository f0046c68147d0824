"""p(x | z): how a decoder's output scores an observation, one declaration per dataset.

Training (``Autoencoder.reconstruction_nll``) and scoring (``vaebench.metrics.likelihood``)
both call :meth:`Likelihood.log_likelihood`, written once with ``keras.ops``, so they cannot
disagree. Images and sequences use :class:`Bernoulli` on every value; a table uses
:class:`ColumnLikelihood`, the sum over its columns of each column's log-likelihood, in nats
per record:

- numeric: a Gaussian of **fixed unit variance** on the standardised value, with the decoder's
  output as its mean (unit variance is the data's own variance after standardisation; a learned
  variance would add weights that no cell format stores);
- categorical: a softmax over the column's K categories (the decoder gives K logits);
- binary: a Bernoulli with the decoder's output as its logit.

A cell's card stores its likelihood's :meth:`~Likelihood.config`, so scoring reads it back instead
of guessing it from the data.
"""

from __future__ import annotations

import numpy as np
from keras import ops

from vaebench.data.columns import Column, offsets
from vaebench.kinds import ColumnKind, DataKind
from vaebench.models.probability import LOG_2PI, bernoulli_log_likelihood, sigmoid


class Bernoulli:
    """Every value of the observation a Bernoulli variable; the decoder gives its logit."""

    kind = "bernoulli"
    #: the kind of data it implies: none, the model's own (images, sequences or two views)
    data_kind = None

    def log_likelihood(self, x, outputs):
        """log p(x | outputs) per observation: (batch,)."""
        return bernoulli_log_likelihood(x, outputs)

    def mean(self, outputs: np.ndarray) -> np.ndarray:
        """E[x | outputs] with the observation's layout, float64."""
        return sigmoid(outputs)

    def config(self) -> dict:
        return {"kind": self.kind}


def _unit_gaussian_log_likelihood(target, output):
    return -0.5 * (LOG_2PI + ops.square(target[:, 0] - output[:, 0]))


def _softmax_log_likelihood(target, output):
    return ops.sum(target * ops.log_softmax(output, axis=1), axis=1)


def _softmax(part: np.ndarray) -> np.ndarray:
    shifted = np.exp(part - part.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


#: a column's log-likelihood per record (keras.ops) from its slice of the targets and of the decoder's outputs
_COLUMN_LOG_LIKELIHOOD = {ColumnKind.NUMERIC: _unit_gaussian_log_likelihood, ColumnKind.CATEGORICAL: _softmax_log_likelihood,
                          ColumnKind.BINARY: bernoulli_log_likelihood}
#: a column's mean (numpy) from its slice of the decoder's outputs
_COLUMN_MEAN = {ColumnKind.NUMERIC: lambda part: part, ColumnKind.CATEGORICAL: _softmax, ColumnKind.BINARY: sigmoid}


class ColumnLikelihood:
    """A table's likelihood: per column Gaussian (numeric), softmax (categorical) or Bernoulli (binary), summed."""

    kind = "columns"
    data_kind = DataKind.TABLES

    def __init__(self, columns: tuple[Column, ...]):
        self.columns = tuple(columns)
        self.spans = offsets(self.columns)

    def log_likelihood(self, x, outputs):
        total = 0.0
        for column, start, stop in self.spans:
            total = total + _COLUMN_LOG_LIKELIHOOD[column.kind](x[:, start:stop], outputs[:, start:stop])
        return total

    def mean(self, outputs: np.ndarray) -> np.ndarray:
        outputs = np.asarray(outputs, np.float64)
        means = np.empty_like(outputs)
        for column, start, stop in self.spans:
            means[:, start:stop] = _COLUMN_MEAN[column.kind](outputs[:, start:stop])
        return means

    def config(self) -> dict:
        return {"kind": self.kind, "columns": [column.to_json() for column in self.columns]}


Likelihood = Bernoulli | ColumnLikelihood
BERNOULLI = Bernoulli()


def likelihood_for(columns: tuple[Column, ...]) -> Likelihood:
    """The likelihood of a dataset: its columns' for a table (``columns`` non-empty), else Bernoulli."""
    return ColumnLikelihood(columns) if columns else BERNOULLI


def likelihood_from_config(config: dict | None) -> Likelihood:
    """The likelihood a card records; a card from before likelihoods were recorded is Bernoulli (all such cells were)."""
    if config is None or config["kind"] == Bernoulli.kind:
        return BERNOULLI
    if config["kind"] == ColumnLikelihood.kind:
        return ColumnLikelihood(tuple(Column.from_json(column) for column in config["columns"]))
    raise ValueError(f"unknown likelihood {config['kind']!r}; accepted: {Bernoulli.kind}, {ColumnLikelihood.kind}")


__all__ = ["BERNOULLI", "Bernoulli", "ColumnLikelihood", "Likelihood", "likelihood_for", "likelihood_from_config"]
