"""XC learners trained on (possibly SKIM-augmented) labels: one fit/predict interface.

- ``ova``: one-vs-all label layer over sentence-transformers query embeddings (Renée-like).
- ``dual``: dual encoder with decoupled softmax and mined hard negatives (DEXML-like).

>>> from skim.learners import train, predict
>>> train("wordnet", "models/ova", learner="ova", labels="wordnet/trn_X_Y_skim.npz")
>>> scores = predict("wordnet", "models/ova", k=100)
"""

from skim.learners.params import LEARNERS, METHODS, TrainParams
from skim.learners.prediction import predict
from skim.learners.training import train

__all__ = ["LEARNERS", "METHODS", "TrainParams", "predict", "train"]
