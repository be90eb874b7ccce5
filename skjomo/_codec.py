"""The frame codec: a DataFrame to the sampler's arrays and back, both levels.

Built once in ``fit`` from a :class:`~skjomo._spec.ModelSpec` and the
training frame: it resolves the roles of the columns (level-1 outcomes and
covariates through a :class:`~skjomo._schema.Schema`, the clusters, the
level-2 outcomes and covariates through a second ``Schema`` on one row per
cluster). ``encode`` turns any frame with the training columns into arrays;
``decode`` writes completed arrays back into a copy of the frame, with the
user's dtypes, categories, index and column order.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._analysis_model import AnalysisLayout
from ._formula import FormulaDesign
from ._schema import (
    Schema,
    _fill,
    _float_values,
    _is_continuous_dtype,
    _plain,
    argmax_category,
    check_frame_shape,
    cluster_codes,
    cluster_level_frame,
    object_values,
)


@dataclass
class EncodedFrame:
    """Arrays of one frame.

    Attributes
    ----------
    x, z : ndarray (n, m), (n, q)
        Fixed-effect design (intercept first) and random-effect design.
    values, missing, codes : ndarray
        Level-1 outcomes (NaN where missing or latent), missing cells of the
        latent-expanded matrix, observed categories (-1 where missing).
    cat_start, cat_size : ndarray of int64
        Latent layout of the level-1 categorical outcomes.
    cluster : ndarray of int64 (n,)
        Cluster index of each row (0 for single-level data).
    n_clusters, n_known_clusters : int
        Clusters of this frame's index space (those of fit first) and how
        many of them were seen in fit.
    level2 : dict or None
        ``x2, values2, missing2, codes2, cat2_start, cat2_size`` (one row
        per cluster) when the model has level-2 outcomes.
    analysis : dict or None
        Outcome ``y`` and variables ``xvars`` of an analysis model
        (:meth:`skjomo._analysis_model.AnalysisLayout.encode`).
    """

    x: np.ndarray
    z: np.ndarray
    values: np.ndarray
    missing: np.ndarray
    codes: np.ndarray
    cat_start: np.ndarray
    cat_size: np.ndarray
    cluster: np.ndarray
    n_clusters: int
    n_known_clusters: int
    level2: dict = None
    analysis: dict = None


class FrameCodec:
    """Roles and encodings of a model's columns (see the module docstring).

    Parameters
    ----------
    spec : ModelSpec
        The model.
    frame : pandas.DataFrame
        Training data.
    """

    def __init__(self, spec, frame):
        check_frame_shape(frame)
        self.analysis = None
        if spec.analysis is not None:  # compatible imputation: roles from the data
            self.analysis = AnalysisLayout(spec.analysis, frame, spec.categorical, spec.excluded)
            spec = self.analysis.joint_spec(spec)
        self.spec = spec
        if spec.formula is not None:
            spec.formula.check_columns(frame)
        reserved = self._check_roles(frame) if spec.multilevel else {}
        self.schema = Schema(
            frame,
            outcome_cols=spec.outcomes,
            covariate_cols=list(spec.fixed_effects),
            categorical_cols=list(spec.categorical),
            exclude_cols=list(spec.excluded),
            reserved=reserved,
        )
        # derived fixed-effect terms of a formula, materialised by formulaic
        self.formula_design = (
            FormulaDesign(spec.formula.design, frame)
            if spec.formula is not None and spec.formula.design
            else None
        )
        self.cluster_labels = None
        self.schema2 = None
        self._level2_fit = None
        self._training_clusters = None  # the training frame's cluster rows, until encoded
        if spec.multilevel:
            codes, self.cluster_labels = cluster_codes(frame[spec.cluster])
            if spec.has_level2:
                cluster_frame = self._cluster_frame(frame, codes, self.cluster_labels)
                self._training_clusters = cluster_frame
                # observed level-2 values of the clusters of fit (data in transform)
                self._level2_fit = {
                    c: object_values(cluster_frame[c])
                    for c in spec.level2_outcomes
                }
                self.schema2 = Schema(
                    cluster_frame,
                    outcome_cols=list(spec.level2_outcomes),
                    covariate_cols=list(spec.level2_covariates),
                    categorical_cols=[c for c in spec.categorical if c in spec.level2_outcomes],
                )
        if self.analysis is not None:
            self.analysis.bind(self.schema, self.schema2)

    # ------------------------------------------------------------- roles
    def _check_roles(self, frame):
        """Validate the multilevel roles; columns with roles outside the
        level-1 schema, mapped to their role."""
        spec = self.spec
        if spec.cluster not in frame.columns:
            raise ValueError(f"Column {spec.cluster!r} given as cluster is not in the data.")
        if frame.shape[1] == 1:
            raise ValueError(
                "The data has 1 feature(s), the cluster column; a minimum of 2 is "
                "required (the cluster column and an outcome)."
            )
        if spec.level2_covariates and not spec.level2_outcomes:
            raise ValueError(
                "level2_covariate_cols needs level2_cols: they predict level-2 outcomes."
            )
        for column in spec.random_slopes:
            if column not in frame.columns:
                raise ValueError(f"Column {column!r} given as random slope is not in the data.")
            if frame[column].isna().any():
                raise ValueError(
                    f"Random-slope covariate {column!r} has missing values; random-slope "
                    "covariates must be fully observed."
                )
            if not _is_continuous_dtype(frame[column]):
                raise TypeError(
                    f"Random-slope covariate {column!r} must be numeric; got dtype "
                    f"{frame[column].dtype}."
                )
            _float_values(frame[column], column, "random slope")
        reserved = {spec.cluster: "cluster"}
        level2_only = [c for c in spec.level2_covariates if c not in spec.covariates]
        for role, names in (
            ("level-2 outcome", spec.level2_outcomes),
            ("level-2 covariate", level2_only),
        ):
            for column in names:
                if column in reserved:
                    raise ValueError(
                        f"Column {column!r} is given two roles: {reserved[column]} and {role}."
                    )
                reserved[column] = role
        return reserved

    # -------------------------------------------------------- properties
    @property
    def columns(self):
        """The training frame's columns."""
        return self.schema.columns

    @property
    def latent_labels(self):
        """Columns of the latent-expanded level-1 outcome matrix."""
        return self.schema.latent_labels

    @property
    def design_names(self):
        """Columns of the fixed-effect design (intercept first)."""
        if self.formula_design is not None:
            return self.formula_design.names
        return self.schema.covariate_design_names

    @property
    def random_effect_predictors(self):
        """Predictors with random effects (intercept first)."""
        return ["(Intercept)"] + [str(c) for c in self.spec.random_slopes]

    @property
    def random_effect_labels(self):
        """Labels ``outcome|predictor`` of the random effects of a cluster."""
        return [f"{t}|{k}" for t in self.latent_labels for k in self.random_effect_predictors]

    @property
    def level2_labels(self):
        """Latent-expanded level-2 outcome columns."""
        return self.schema2.latent_labels if self.schema2 is not None else []

    @property
    def level2_design_names(self):
        """Columns of the level-2 design (intercept first)."""
        return self.schema2.covariate_design_names if self.schema2 is not None else []

    # ----------------------------------------------------------- encoding
    def encode(self, frame, fit=False):
        """:class:`EncodedFrame` of ``frame`` (the training frame when ``fit``)."""
        spec, schema = self.spec, self.schema
        if not fit:
            schema.check_frame(frame)
        if spec.multilevel:
            codes, labels = cluster_codes(
                frame[spec.cluster], known=None if fit else self.cluster_labels
            )
        else:
            codes, labels = np.zeros(len(frame), dtype=np.int64), [None]
        n_clusters = len(labels)
        values, missing, cat_codes = schema.encode_outcomes(frame)
        z = (
            np.column_stack(
                [np.ones(len(frame))]
                + [_float_values(frame[c], c, "random slope") for c in spec.random_slopes]
            )
            if spec.multilevel
            else None
        )
        cat_start, cat_size = schema.categorical_layout()
        x = (
            schema.design(frame)
            if self.formula_design is None
            else self.formula_design.matrix(frame)
        )
        return EncodedFrame(
            x=x,
            z=z,
            values=values,
            missing=missing,
            codes=cat_codes,
            cat_start=cat_start,
            cat_size=cat_size,
            cluster=codes,
            n_clusters=n_clusters,
            n_known_clusters=n_clusters if fit or not spec.multilevel else len(self.cluster_labels),
            level2=self._encode_level2(frame, codes, labels, fit) if spec.has_level2 else None,
            analysis=None
            if self.analysis is None
            else self.analysis.encode(frame, codes, n_clusters),
        )

    def _cluster_frame(self, frame, codes, labels):
        spec = self.spec
        cluster_frame = cluster_level_frame(
            frame,
            list(spec.level2_outcomes) + list(spec.level2_covariates),
            codes,
            labels,
            "Level-2",
        )
        present = np.unique(codes)
        for column in spec.level2_covariates:
            unobserved = present[cluster_frame[column].isna().to_numpy()[present]]
            if unobserved.size:
                raise ValueError(
                    f"Level-2 covariate {column!r} is missing on every row of cluster "
                    f"{_plain(labels[unobserved[0]])!r}; level-2 covariates must be observed "
                    "for every cluster."
                )
        return cluster_frame

    def _encode_level2(self, frame, codes, labels, fit):
        n_clusters = len(labels)
        if fit and self._training_clusters is not None:  # built once, in __init__
            cluster_frame, self._training_clusters = self._training_clusters, None
        else:
            cluster_frame = self._cluster_frame(frame, codes, labels)
        values2, missing2, codes2 = self.schema2.encode_outcomes(cluster_frame)
        present = np.unique(codes)
        absent = np.setdiff1d(np.arange(n_clusters), codes)
        if absent.size:  # clusters without rows in this frame: nothing to impute
            missing2[absent] = False
        if self.spec.level2_covariates:
            x2 = np.zeros((n_clusters, len(self.schema2.covariate_design_names)))
            x2[present] = self.schema2.design(cluster_frame.iloc[present])
            x2[absent, 0] = 1.0
        else:
            x2 = np.ones((n_clusters, 1))
        cat2_start, cat2_size = self.schema2.categorical_layout()
        return dict(
            x2=x2,
            values2=values2,
            missing2=missing2,
            codes2=codes2,
            cat2_start=cat2_start,
            cat2_size=cat2_size,
        )

    # ----------------------------------------------------------- decoding
    def with_known_level2(self, frame):
        """``frame``, or a copy whose missing level-2 outcome cells hold their
        cluster's value where it is known.

        A cluster's level-2 value is known when it is observed on another row
        of the cluster in ``frame`` or, for a cluster seen in fit, when it was
        observed in fit. Only the values of the other clusters are imputed.
        """
        if not self.spec.has_level2:
            return frame
        self.schema.check_frame(frame)
        columns = self.schema2.outcome_names
        if not frame[columns].isna().any().any():
            return frame
        codes, labels = cluster_codes(frame[self.spec.cluster], known=self.cluster_labels)
        clusters = cluster_level_frame(frame, columns, codes, labels, "Level-2")
        n_fit = len(self.cluster_labels)
        out = frame.copy()
        for column in columns:
            values = object_values(clusters[column])
            unknown = pd.isna(values[:n_fit])
            values[:n_fit][unknown] = self._level2_fit[column][unknown]
            rows = frame[column].isna().to_numpy() & pd.notna(values[codes])
            if rows.any():
                out[column] = _fill(frame[column], rows, values[codes[rows]])
        return out

    def decode(self, frame, encoded, completed, completed2, outcome=None):
        """Completed copy of ``frame`` from the latent-expanded level-1 rows
        ``completed``, level-2 values per cluster ``completed2`` and the
        missing outcomes ``outcome`` of an analysis model.

        ``frame`` is the output of :meth:`with_known_level2` (computed once
        for all the imputations of the same rows)."""
        out = self.schema.decode(frame, completed, encoded.missing)
        if self.analysis is not None:
            out = self.analysis.decode(out, frame, np.isnan(encoded.analysis["y"]), outcome)
        if completed2 is None:
            return out
        for k, column in enumerate(self.schema2.outcome_names):
            rows = frame[column].isna().to_numpy()
            if rows.any():
                values = self._level2_values(completed2, k)
                out[column] = _fill(frame[column], rows, values[encoded.cluster[rows]])
        return out

    def _level2_values(self, completed2, k):
        """Values of level-2 outcome ``k`` per cluster from completed latents."""
        column = self.schema2.outcomes[k]
        if column.kind == "continuous":
            position = [c.name for c in self.schema2.continuous].index(column.name)
            return completed2[:, position]
        starts, sizes = self.schema2.categorical_layout()
        index = [c.name for c in self.schema2.categorical].index(column.name)
        latents = completed2[:, starts[index] : starts[index] + sizes[index]]
        return np.asarray(column.categories, dtype=object)[argmax_category(latents)]
