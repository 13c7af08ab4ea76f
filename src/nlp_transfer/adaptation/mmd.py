"""Multi-kernel maximum mean discrepancy (MK-MMD), the alignment loss of DAN (Long et al. 2015, ICML).

MMD² between distributions P and Q under a kernel k is
    E[k(x, x')] + E[k(y, y')] − 2 E[k(x, y)],   x, x' ~ P,  y, y' ~ Q,
zero iff P = Q for a characteristic kernel. DAN uses a convex combination of Gaussian kernels
k = Σ_u β_u k_u so that no single bandwidth has to be right. Here β_u = 1/m (uniform; DAN learns β)
and the bandwidths are multiples of a base bandwidth taken from the data (median or mean heuristic).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from nlp_transfer.adaptation.full_precision import at_least_float32, float32_region

BANDWIDTH_HEURISTICS = ("median", "mean")
ESTIMATORS = ("unbiased", "biased")


def squared_distances(rows: torch.Tensor) -> torch.Tensor:
    """(n, d) → (n, n) squared Euclidean distances; via the Gram matrix, so the gradient at 0 is finite."""
    norms = rows.pow(2).sum(dim=1)
    return (norms[:, None] + norms[None, :] - 2.0 * rows @ rows.T).clamp_min(0.0)


class MultiKernelMMD(nn.Module):
    """MK-MMD² between a source sample (n, d) and a target sample (m, d).

    Kernels: k_u(x, y) = exp(−‖x − y‖² / (c_u · b)), with c_u the `kernel_multipliers` and b the
    median (or mean) squared distance between distinct rows of the pooled sample (no gradient flows
    through b: it sets the scale, it is not a quantity to optimise).

    Estimators (Gretton et al. 2012, JMLR 13, eq. 3 and 5):
        `unbiased` (default): the U-statistic, the within-domain means skip the i = j pairs; it is
        near 0 (and can be slightly negative) for two samples of one distribution. Needs ≥ 2 rows
        per domain.
        `biased`: the V-statistic, every pair counted; always ≥ 0, but positive even for P = Q.

    Raises:
        ValueError: an unknown heuristic or estimator, no multipliers, or samples of different width.
    """

    def __init__(
        self,
        kernel_multipliers: Sequence[float] = (0.25, 0.5, 1.0, 2.0, 4.0),
        bandwidth: str = "median",
        estimator: str = "unbiased",
    ) -> None:
        super().__init__()
        if bandwidth not in BANDWIDTH_HEURISTICS:
            raise ValueError(f"bandwidth must be one of {BANDWIDTH_HEURISTICS}, got {bandwidth!r}")
        if estimator not in ESTIMATORS:
            raise ValueError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}")
        if not kernel_multipliers or min(kernel_multipliers) <= 0:
            raise ValueError(f"kernel_multipliers must be positive numbers, got {list(kernel_multipliers)}")
        self.kernel_multipliers = [float(c) for c in kernel_multipliers]
        self.bandwidth = bandwidth
        self.estimator = estimator

    @property
    def min_rows(self) -> int:
        """Rows each domain needs: the unbiased estimate has no within-domain pair with one row."""
        return 2 if self.estimator == "unbiased" else 1

    def base_bandwidth(self, distances: torch.Tensor) -> torch.Tensor:
        """The heuristic scale b over distinct pairs (diagonal excluded), detached, never 0."""
        n = len(distances)
        off_diagonal = distances[~torch.eye(n, dtype=torch.bool, device=distances.device)].detach()
        base = off_diagonal.median() if self.bandwidth == "median" else off_diagonal.mean()
        return base.clamp_min(1e-8)

    def forward(self, source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if source.dim() != 2 or target.dim() != 2 or source.shape[1] != target.shape[1]:
            raise ValueError(
                f"MMD needs (n, d) and (m, d) rows, got {tuple(source.shape)} and {tuple(target.shape)}"
            )
        n, m = len(source), len(target)
        if min(n, m) < self.min_rows:
            raise ValueError(
                f"The {self.estimator} MMD estimate needs ≥ {self.min_rows} rows per domain, got {n} and {m}"
            )
        pooled = torch.cat([source, target])
        with float32_region(pooled):  # autocast would run the Gram matrix in bf16
            distances = squared_distances(at_least_float32(pooled))
            base = self.base_bandwidth(distances)
            kernels = [torch.exp(-distances / (c * base)) for c in self.kernel_multipliers]
            kernel = torch.stack(kernels).mean(0)
        k_ss, k_tt, k_st = kernel[:n, :n], kernel[n:, n:], kernel[:n, n:]
        if self.estimator == "biased":
            return k_ss.mean() + k_tt.mean() - 2.0 * k_st.mean()
        within_s = (k_ss.sum() - k_ss.diagonal().sum()) / (n * (n - 1))
        within_t = (k_tt.sum() - k_tt.diagonal().sum()) / (m * (m - 1))
        return within_s + within_t - 2.0 * k_st.mean()

    def extra_repr(self) -> str:
        return (
            f"multipliers={self.kernel_multipliers}, bandwidth={self.bandwidth}, estimator={self.estimator}"
        )
