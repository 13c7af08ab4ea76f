"""ClassAMI (Musgrave et al. 2022, "Three New Validators and a Large-Scale Benchmark Ranking for
Unsupervised Domain Adaptation"): agreement between the clusters of the target features and the
classes the model predicts.

k-means with k = number of classes on the L2-normalised target features gives each row a cluster id;
the score is the adjusted mutual information (Vinh et al. 2010) between cluster ids and predicted
classes. A model whose decision boundaries follow the structure of its own target features scores high;
AMI corrects for chance, so random agreement scores about 0 (it can be negative). Higher is better. At
token level (NER) each word (its first sub-token: `ModelOutputs` rows) is a row, features and prediction
alike, at most `max_rows` of them (`selection.subsample`). k-means
and AMI are scikit-learn's (`KMeans` with k-means++ seeding and a fixed `random_state`, so a point's
score is reproducible).
"""

from __future__ import annotations

import numpy as np
from torch.nn import functional as F

from nlp_transfer.selection.subsample import fixed_subset
from nlp_transfer.selection.validator import Validator, ValidatorUndefined
from nlp_transfer.strategies.outputs import ModelOutputs


def cluster_ids(features: np.ndarray, clusters: int, n_init: int = 4, seed: int = 0) -> np.ndarray:
    """(n, d) → (n,) k-means cluster ids (scikit-learn, fixed seed)."""
    from sklearn.cluster import KMeans  # imported here: the catalog imports every validator module

    return KMeans(n_clusters=clusters, n_init=n_init, random_state=seed).fit_predict(features)


class ClassAMIValidator(Validator):
    """AMI(k-means clusters of normalised target features, predicted classes), k = classes.

    Args:
        n_init: k-means restarts (the best inertia is kept).
        seed: k-means random state.
        max_rows: at most this many rows are clustered (`fixed_subset`: NER slices hold thousands of words).
    """

    name = "class_ami"
    higher_is_better = True

    def __init__(self, n_init: int = 4, seed: int = 0, max_rows: int = 4096) -> None:
        if n_init < 1 or max_rows < 2:
            raise ValueError(f"class_ami needs n_init ≥ 1 and max_rows ≥ 2, got {n_init}, {max_rows}")
        self.n_init = n_init
        self.seed = seed
        self.max_rows = max_rows

    def __call__(self, target_unlabeled: ModelOutputs) -> float:
        from sklearn.metrics import adjusted_mutual_info_score

        classes = target_unlabeled.logits.shape[1]
        keep = fixed_subset(len(target_unlabeled.features), self.max_rows)
        if len(keep) <= classes:
            raise ValidatorUndefined(
                f"class_ami clusters the target rows into {classes} groups and needs more rows than that, "
                f"got {len(keep)}"
            )
        features = F.normalize(target_unlabeled.features[keep].double(), dim=1).numpy()
        clusters = cluster_ids(features, classes, self.n_init, self.seed)
        return float(adjusted_mutual_info_score(clusters, target_unlabeled.preds[keep].numpy()))
