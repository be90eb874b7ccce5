"""
jomo article, part 5: cluster-specific covariance matrices
==========================================================

Part 4 assumes that the residual covariance of the outcomes is the same in
every school. Sometimes that is implausible: in an individual participant
data meta-analysis, for example, studies measure their variables
differently and the spread of an outcome, and its correlations, differ from
study to study. :class:`~skjomo.HeteroscedasticMultilevelImputer` gives
every cluster ``j`` its own level-1 covariance ``Omega_j``, in one of two
ways (``cov_method``):

* ``"fixed"``: every ``Omega_j`` is a separate parameter with its own
  inverse-Wishart prior; clusters share nothing. This needs enough rows in
  every cluster to estimate a covariance.
* ``"random"``: the ``Omega_j`` are drawn from a common inverse-Wishart
  distribution ``IW(a, A)`` whose degrees of freedom ``a`` and scale ``A``
  are estimated too. Small clusters borrow strength from the others, and a
  variable missing in a whole cluster can still be imputed there.

The rest of the model is that of part 4. (``MultilevelJointImputer`` takes
the same ``cov_method`` argument; only the default differs.) The article
omits the output of these models; this page looks at what they estimate.
The documentation build uses short chains (see part 1).
"""

# %%
# Fixed cluster-specific covariances
# ----------------------------------
# JSPmiss's schools have 7 to 76 children, and fewer observed values of each
# variable, so a separate 4 x 4 covariance per school is estimated from
# little data (skjomo warns when a cluster has fewer rows than there are
# outcomes; the smallest school here has 7).
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from skjomo import HeteroscedasticMultilevelImputer, MultilevelJointImputer
from skjomo.datasets import load_jspmiss
from skjomo.diagnostics import ConvergenceWarning

QUICK = os.environ.get("SKJOMO_EXAMPLES_QUICK") == "1"
if QUICK:  # the documentation build's short chains make Rhat noisy
    warnings.simplefilter("ignore", ConvergenceWarning)
N_BURN, N_BETWEEN = (1000, 100) if QUICK else (2000, 1000)

data = load_jspmiss()
model = dict(
    cluster_col="school",
    outcome_cols=["english", "ravens", "fluent"],
    covariate_cols=["sex"],
    n_burn=N_BURN,
    n_between=N_BETWEEN,
    n_imputations=5,
    random_state=1569,
)
fixed = HeteroscedasticMultilevelImputer(**model, cov_method="fixed").fit(data)
print(fixed.cluster_covariances_.shape)  # (schools, 4, 4)

# %%
# Random cluster-specific covariances
# -----------------------------------
random_cov = HeteroscedasticMultilevelImputer(**model, cov_method="random").fit(data)
common = MultilevelJointImputer(**model).fit(data)
print(f"posterior mean of a: {random_cov.a_:.1f}")
print(random_cov.omega_.round(2))

# %%
# ``omega_`` is now the average of the cluster covariances. ``a`` measures
# how alike the schools are: ``Omega_j`` has mean ``A / (a - p - 1)``, and
# the larger ``a``, the closer every ``Omega_j`` is to that mean (as ``a``
# grows the model becomes the common-covariance model of part 4).
#
# What the three models say about each school
# -------------------------------------------
# The residual variance of ``english`` in each school, by school size:
# ``"fixed"`` follows each school's own few observations and scatters
# widely (in the very smallest schools the prior of each school's
# covariance, worth one row at the overall observed variance, carries much
# of the weight and holds them near the middle); ``"random"`` pulls every
# school towards the average, the more so the less data it has; the common
# model gives every school the same value.
sizes = data.groupby("school").size().loc[fixed.cluster_labels_]
english = list(fixed.omega_.columns).index("english")
frame = pd.DataFrame(
    {
        "fixed": fixed.cluster_covariances_[:, english, english],
        "random": random_cov.cluster_covariances_[:, english, english],
    },
    index=fixed.cluster_labels_,
)
figure, axis = plt.subplots(figsize=(6, 3.5))
axis.scatter(sizes, frame["fixed"], label='cov_method="fixed"', marker="o", alpha=0.7)
axis.scatter(sizes, frame["random"], label='cov_method="random"', marker="s", alpha=0.7)
axis.axhline(common.omega_.loc["english", "english"], color="black", lw=1, label="common")
axis.set_xlabel("children in the school")
axis.set_ylabel("residual variance of english")
axis.legend()
figure.tight_layout()
print(frame.describe().round(1))

# %%
# Starting values for cluster covariances and for ``a``
# -----------------------------------------------------
# With cluster-specific covariances, ``cov_start`` takes either one matrix
# for every cluster or one per cluster (an array of shape
# ``(n_clusters, p, p)``, in the order of ``cluster_labels_``; jomo stacks
# the matrices in a ``(p n_clusters) x p`` matrix instead). ``a_start``
# starts ``a`` (the article uses 7); it must exceed ``p - 1``.
n_schools = data["school"].nunique()
started = HeteroscedasticMultilevelImputer(
    **model,
    cov_method="random",
    cov_start=np.tile(np.diag(np.full(4, 2.0)), (n_schools, 1, 1)),
    a_start=7.0,
).fit(data)
print(f"posterior mean of a: {started.a_:.1f} (default start: {random_cov.a_:.1f})")

# %%
# Which model?
# ------------
# Use ``"fixed"`` when every cluster is large (many rows per outcome) and
# there is no reason to pool; ``"random"`` when covariances plausibly
# differ but some clusters are small or miss a variable entirely (it can
# also impute clusters not seen in ``fit``); the common covariance when the
# clusters are exchangeable in this respect. When the analysis has a random
# slope of a partially observed variable, ``"random"`` lets the association
# differ between clusters, though only compatible imputation
# (:class:`~skjomo.SubstantiveModelImputer`, :doc:`/smc`) matches such an
# analysis exactly.
#
# skjomo's ``"random"`` model differs from jomo's in its default prior for
# ``A`` and in how it treats the fixed latent blocks; see :doc:`/model`
# (Priors) for what and why.
