"""
jomo article, part 2: categorical variables
===========================================

The second step of the article's single-level tutorial adds the partially
observed three-category ``fluent`` (fluency in English, categories 0, 1 and
2) to the imputation model of part 1. A categorical variable with ``K``
categories is represented by ``K - 1`` latent normal variables: category
``c`` is observed when its latent is the largest of the ``K - 1`` and
positive, and the last category (the reference) when all are negative. The
latents join the continuous outcomes in one multivariate normal model::

    english_i     = b0e  + b1e  sex_i + e_ei
    ravens_i      = b0r  + b1r  sex_i + e_ri
    fluent[0]*_i  = b0f0 + b1f0 sex_i + e_f0i
    fluent[1]*_i  = b0f1 + b1f1 sex_i + e_f1i,     e_i ~ N(0, Omega)

The scale of a latent is not identified by the categories it produces, so
the block of ``Omega`` that belongs to the latents of one variable is held
fixed at 1 on the diagonal and 0.5 off it. skjomo, like jomo, does this by
itself; :doc:`/guidance/categories` explains the names (``fluent[0]`` is
the latent of the first category, jomo's ``fluent.1``) and how to choose
the reference category.

Fully observed categorical *covariates* need no latents: a pandas
categorical (or string) column named in ``covariate_cols`` is dummy coded
by the imputer (in R they are coded by hand).

The documentation build uses short chains (see part 1); the article runs
jomo's defaults, 1,000 burn-in iterations and 5 imputations 1,000
iterations apart.
"""

# %%
# Imputation
# ----------
# ``fluent`` is a pandas categorical column in the bundled data, so it is
# treated as categorical with no further option (a numeric column of codes
# would need ``categorical_cols=["fluent"]``, the counterpart of R's
# ``factor()``).
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from skjomo import JointModelImputer
from skjomo.datasets import load_jspmiss
from skjomo.diagnostics import ConvergenceWarning

QUICK = os.environ.get("SKJOMO_EXAMPLES_QUICK") == "1"
if QUICK:  # the documentation build's short chains make Rhat noisy
    warnings.simplefilter("ignore", ConvergenceWarning)
N_BURN, N_BETWEEN = (1000, 200) if QUICK else (1000, 1000)

data = load_jspmiss()
print(data["fluent"].dtype, data["fluent"].value_counts(dropna=False).to_dict())

imputer = JointModelImputer(
    outcome_cols=["english", "ravens", "fluent"],
    covariate_cols=["sex"],
    n_burn=N_BURN,
    n_between=N_BETWEEN,
    n_imputations=5,
    random_state=1569,
)
imputer.fit(data)
print(imputer.beta_.round(3))
print(imputer.omega_.round(3))

# %%
# The latent block of ``omega_`` is exactly ``[[1, 0.5], [0.5, 1]]``: it is
# not estimated. The other entries are.
#
# Next to the article
# -------------------
# The article's posterior means (jomo's ``fluent.1`` and ``fluent.2`` are
# our ``fluent[0]`` and ``fluent[1]``). The differences are of the size of
# the Monte Carlo error of a few thousand draws; the latent means of the two
# rare categories (32 and 29 children) are the least precise.
latents = ["english", "ravens", "fluent[0]", "fluent[1]"]
article_beta = pd.DataFrame(
    [[38.263132, 25.324376, -1.574369, -1.836201], [6.3636755, -0.5548762, -0.2318260, 0.1829313]],
    index=["(Intercept)", "sex"],
    columns=latents,
)
article_omega = pd.DataFrame(
    [
        [458.164036, 64.437168, -11.379005, -8.888263],
        [64.437168, 36.743243, -2.141006, -1.500893],
        [-11.379005, -2.141006, 1.0, 0.5],
        [-8.888263, -1.500893, 0.5, 1.0],
    ],
    index=latents,
    columns=latents,
)
print(
    pd.concat(
        {"jomo article": article_beta.stack(), "skjomo": imputer.beta_.stack()}, axis=1
    ).round(3)
)
upper = np.triu(np.ones((4, 4), dtype=bool))
print(
    pd.concat(
        {
            "jomo article": article_omega.where(upper).stack(),
            "skjomo": imputer.omega_.where(upper).stack(),
        },
        axis=1,
    )
    .dropna()
    .round(3)
)

# %%
# Imputed categories
# ------------------
# Imputed cells of ``fluent`` come back as categories of the original
# column, with its dtype. The imputed children are mostly in the largest
# category, 2, but less often than the observed ones: the imputation model
# links fluency to ``english`` (negatively with the latents of the two
# non-fluent categories), and the children with ``fluent`` missing have
# lower English scores on average.
imputations = imputer.sample()
first = imputations[0]
print(first["fluent"].dtype)
observed = data["fluent"].value_counts(normalize=True).sort_index()
missing = data["fluent"].isna()
imputed = (
    pd.concat([d.loc[missing, "fluent"] for d in imputations])
    .value_counts(normalize=True)
    .sort_index()
)
print(data.groupby(missing)["english"].mean().rename({False: "fluent observed", True: "missing"}))

figure, axis = plt.subplots(figsize=(5, 3))
pd.DataFrame({"observed": observed, "imputed (5 data sets)": imputed}).plot.bar(ax=axis, rot=0)
axis.set_xlabel("fluent")
axis.set_ylabel("proportion")
figure.tight_layout()

# %%
# Starting values with categorical outcomes
# -----------------------------------------
# The article also shows how to give starting values: one column of
# ``beta`` per continuous outcome and per latent (here 2 x 4) and a 4 x 4
# covariance. The entries of the latent block are fixed by the model; skjomo
# replaces them by the fixed values, as jomo does. Different starting values
# change the chain, not the posterior: the posterior means differ from the
# run above by Monte Carlo error only.
started = JointModelImputer(
    outcome_cols=["english", "ravens", "fluent"],
    covariate_cols=["sex"],
    beta_start=np.zeros((2, 4)),
    cov_start=np.diag(np.full(4, 2.0)),
    n_burn=N_BURN,
    n_between=N_BETWEEN,
    n_imputations=5,
    random_state=1569,
).fit(data)
print(
    pd.concat(
        {"default start": imputer.beta_.stack(), "beta 0, cov 2 I": started.beta_.stack()},
        axis=1,
    ).round(3)
)
