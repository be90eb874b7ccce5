#!/usr/bin/env Rscript
# Make the jomo reference fixtures for skjomo's tests.
#
# Usage (from anywhere):
#   Rscript tests/r/make_jomo_fixtures.R                 # all models
#   Rscript tests/r/make_jomo_fixtures.R jsp_single_con  # some models
#   Rscript tests/r/make_jomo_fixtures.R --list
#
# For every model this
#   1. runs jomo() with a fixed seed (nimp = 100 imputations),
#   2. fits the analysis model on each completed data set and pools it with
#      mitml::testEstimates (extra.pars = TRUE for lmer),
#   3. runs jomo.MCMCchain() for a long chain (separate seed) and summarises
#      the draws of jomo's parameters (posterior mean, sd, batch-means MCSE),
# and writes tests/fixtures/jomo/<model>.json. The JSON holds no timings or
# dates, so rerunning with the same R/jomo versions reproduces it exactly;
# timings go to stdout. The schema is described in tests/r/README.md.

# The helpers live next to this script. (benchmarks/r/time_jomo.R sources the
# helpers itself before sourcing this file for the model definitions.)
if (!exists("load_jspmiss", mode = "function")) {
  local({
    args <- commandArgs(trailingOnly = FALSE)
    f <- sub("^--file=", "", args[grep("^--file=", args)])
    here <- if (length(f) == 1L) dirname(normalizePath(f)) else file.path("tests", "r")
    source(file.path(here, "fixture_helpers.R"))
  })
}

RNGkind("Mersenne-Twister", "Inversion", "Rejection")

ROOT <- repo_root(script_dir())
OUT_DIR <- file.path(ROOT, "tests", "fixtures", "jomo")

NIMP <- 100L
N_BATCHES <- 50L

# ---------------------------------------------------------------------------
# Model definitions. Each returns a list describing the jomo call, the
# analysis model and the chain settings.
# ---------------------------------------------------------------------------

jsp_common <- function() {
  d <- load_jspmiss(ROOT)
  list(data_name = "JSPmiss", data_file = "JSPmiss.csv", d = d)
}

models <- list()

models$jsp_single_con <- function() {
  b <- jsp_common(); d <- b$d
  c(b, list(
    issue = 2L,
    description = "Single-level joint model, two continuous outcomes (jomo1con).",
    Y = d[, c("english", "ravens")], X = d[, c("cons", "sex")],
    Z = NULL, clus = NULL, clus_name = NULL, Y2 = NULL, X2 = NULL,
    meth = "common", a = NULL,
    nburn = 2000L, nbetween = 200L, seed = 1569L,
    chain_nburn = 52000L, chain_discard = 2000L, chain_seed = 2569L,
    analysis = list(fun = "lm", formula = english ~ ravens + sex),
    prepare = function(x) x
  ))
}

models$jsp_single_mix <- function() {
  b <- jsp_common(); d <- b$d
  c(b, list(
    issue = 2L,
    description = paste("Single-level joint model, two continuous outcomes and",
                        "one 3-category outcome (jomo1mix)."),
    Y = d[, c("english", "ravens", "fluent")], X = d[, c("cons", "sex")],
    Z = NULL, clus = NULL, clus_name = NULL, Y2 = NULL, X2 = NULL,
    meth = "common", a = NULL,
    nburn = 2000L, nbetween = 500L, seed = 1569L,
    chain_nburn = 102000L, chain_discard = 2000L, chain_seed = 2569L,
    analysis = list(fun = "lm", formula = english ~ ravens + sex + fluent),
    prepare = function(x) {
      x$fluent <- factor(x$fluent, levels = c("0", "1", "2"))
      x
    }
  ))
}

models$jsp_ml_mix <- function() {
  b <- jsp_common(); d <- b$d
  c(b, list(
    issue = 3L,
    description = paste("Two-level joint model (random intercepts), common level-1",
                        "covariance, two continuous and one 3-category outcome (jomo1ranmix)."),
    Y = d[, c("english", "ravens", "fluent")], X = d[, c("cons", "sex")],
    Z = NULL, clus = d$school, clus_name = "school", Y2 = NULL, X2 = NULL,
    meth = "common", a = NULL,
    nburn = 2000L, nbetween = 500L, seed = 1569L,
    chain_nburn = 62000L, chain_discard = 2000L, chain_seed = 2569L,
    analysis = list(fun = "lmer", formula = english ~ ravens + sex + fluent + (1 | school)),
    prepare = function(x) {
      x$fluent <- factor(x$fluent, levels = c("0", "1", "2"))
      x$school <- x$clus
      x
    }
  ))
}

models$exam_ml_l2 <- function() {
  d <- load_examscores(ROOT)
  list(
    data_name = "ExamScores", data_file = "ExamScores.csv", d = d,
    issue = 3L,
    description = paste("Two-level joint model with a level-2 outcome (jomo2com):",
                        "level-1 normexam, standlrt; level-2 avslrt; intercepts only."),
    Y = d[, c("normexam", "standlrt")], X = NULL,
    Z = NULL, clus = d$school, clus_name = "school",
    Y2 = d[, "avslrt", drop = FALSE], X2 = NULL,
    meth = "common", a = NULL,
    nburn = 2000L, nbetween = 200L, seed = 1569L,
    chain_nburn = 32000L, chain_discard = 2000L, chain_seed = 2569L,
    analysis = list(fun = "lmer", formula = normexam ~ standlrt + avslrt + (1 | school)),
    prepare = function(x) {
      x$school <- x$clus
      x
    }
  )
}

models$sr_ml_con <- function() {
  d <- load_studentratings(ROOT)
  list(
    data_name = "studentratings", data_file = "studentratings.csv", d = d,
    issue = 3L,
    description = paste("Two-level joint model (random intercepts), three continuous",
                        "level-1 outcomes (jomo1rancon), as the mitml vignette's",
                        "ReadAchiev + ReadDis + SchClimate ~ 1 + (1|ID)."),
    Y = d[, c("ReadAchiev", "ReadDis", "SchClimate")], X = NULL,
    Z = NULL, clus = d$ID, clus_name = "ID", Y2 = NULL, X2 = NULL,
    meth = "common", a = NULL,
    nburn = 2000L, nbetween = 200L, seed = 1569L,
    chain_nburn = 52000L, chain_discard = 2000L, chain_seed = 2569L,
    analysis = list(fun = "lmer", formula = ReadAchiev ~ ReadDis + (1 | ID)),
    prepare = function(x) {
      x$ID <- x$clus
      x
    },
    jomoImpute = list(formula = ReadAchiev + ReadDis + SchClimate ~ 1 + (1 | ID),
                      n.burn = 2000L, n.iter = 200L, seed = 1569L)
  )
}

models$jsp_ml_slope <- function() {
  b <- jsp_common(); d <- b$d
  c(b, list(
    issue = 3L,
    description = paste("Two-level joint model with random intercept and random slope",
                        "on sex for both outcomes (jomo1rancon, Z = cons + sex)."),
    Y = d[, c("english", "ravens")], X = d[, c("cons", "sex")],
    Z = d[, c("cons", "sex")], clus = d$school, clus_name = "school",
    Y2 = NULL, X2 = NULL,
    meth = "common", a = NULL,
    nburn = 2000L, nbetween = 1000L, seed = 1569L,
    chain_nburn = 62000L, chain_discard = 2000L, chain_seed = 2569L,
    analysis = list(fun = "lmer", formula = english ~ ravens + sex + (1 | school)),
    prepare = function(x) {
      # jomo repeats the Z columns (cons, sex) after X; keep the first copies.
      x <- x[, !duplicated(names(x))]
      x$school <- x$clus
      x
    }
  ))
}

hr_model <- function(meth) {
  function() {
    b <- jsp_common(); d <- b$d
    # jomo's hr samplers assume rows grouped by cluster in sorted-label order.
    d <- d[order(d$school), ]
    c(b, list(
      d = d,
      issue = 4L,
      description = paste0("Two-level joint model with cluster-specific level-1 covariance",
                           " matrices (jomo1ranconhr, meth = \"", meth, "\"), rows sorted",
                           " by school.",
                           if (meth == "random") " a = 52 (= p + 50) passed explicitly." else ""),
      Y = d[, c("english", "ravens")], X = d[, c("cons", "sex")],
      Z = NULL, clus = d$school, clus_name = "school", Y2 = NULL, X2 = NULL,
      meth = meth, a = if (meth == "random") 52 else NULL,
      nburn = 2000L, nbetween = 200L, seed = 1569L,
      chain_nburn = 32000L, chain_discard = 2000L, chain_seed = 2569L,
      analysis = list(fun = "lmer", formula = english ~ ravens + sex + (1 | school)),
      prepare = function(x) {
        x$school <- x$clus
        x
      }
    ))
  }
}
models$jsp_hr_fixed <- hr_model("fixed")
models$jsp_hr_random <- hr_model("random")

# ---------------------------------------------------------------------------
# Running jomo
# ---------------------------------------------------------------------------

jomo_args <- function(spec) {
  a <- list(Y = spec$Y)
  if (!is.null(spec$Y2)) a$Y2 <- spec$Y2
  if (!is.null(spec$X)) a$X <- spec$X
  if (!is.null(spec$X2)) a$X2 <- spec$X2
  if (!is.null(spec$Z)) a$Z <- spec$Z
  if (!is.null(spec$clus)) a$clus <- spec$clus
  if (!is.null(spec$clus)) a$meth <- spec$meth
  if (!is.null(spec$a)) a$a <- spec$a
  a$output <- 0
  a
}

# Name of the jomo worker function that the dispatcher picks (as printed by
# jomo and stored in the "function" attribute of .MCMCchain results).
worker_name <- function(chain) {
  f <- attr(chain, "function")
  if (is.null(f)) NA_character_ else f
}

variable_info <- function(df, clus = NULL) {
  if (is.null(df)) return(NULL)
  lapply(df, function(v) {
    out <- if (is.factor(v)) {
      list(type = "categorical", levels = arr(levels(v)),
           n_missing = sum(is.na(v)))
    } else {
      list(type = "continuous", n_missing = sum(is.na(v)))
    }
    if (!is.null(clus)) {
      # Level-2 variable: number of clusters whose value is missing.
      out$n_missing_clusters <- sum(tapply(is.na(v), clus, all))
    }
    out
  })
}

# Labels of the latent columns: jomo names them <var>.1 .. <var>.(K-1); latent k
# belongs to the k-th factor level, the last level is the reference.
latent_map <- function(Y) {
  out <- list()
  for (nm in names(Y)) {
    if (is.factor(Y[[nm]])) {
      lv <- levels(Y[[nm]])
      for (k in seq_len(length(lv) - 1L)) out[[paste0(nm, ".", k)]] <- lv[k]
    }
  }
  if (length(out) == 0L) NULL else out
}

fit_analysis <- function(spec, dat) {
  if (spec$analysis$fun == "lm") {
    stats::lm(spec$analysis$formula, data = dat)
  } else {
    lme4::lmer(spec$analysis$formula, data = dat, REML = TRUE)
  }
}

run_imputation <- function(spec) {
  set.seed(spec$seed)
  t0 <- proc.time()[["elapsed"]]
  imp <- do.call(jomo::jomo, c(jomo_args(spec),
                               list(nburn = spec$nburn, nbetween = spec$nbetween,
                                    nimp = NIMP)))
  t_imp <- proc.time()[["elapsed"]] - t0
  dats <- lapply(completed_list(imp), spec$prepare)
  fits <- lapply(dats, function(x) fit_analysis(spec, x))
  is_lmer <- spec$analysis$fun == "lmer"
  df.com <- if (!is_lmer) stats::df.residual(fits[[1]]) else NULL
  pooled <- pool_fits(fits, extra = is_lmer, df.com = df.com)
  # Category frequencies of imputed categorical outcomes (averaged over imputations).
  cat_freq <- NULL
  for (nm in names(spec$Y)) {
    if (is.factor(spec$Y[[nm]])) {
      tab <- sapply(dats, function(x) table(factor(x[[nm]], levels = levels(spec$Y[[nm]]))))
      cat_freq[[nm]] <- list(levels = arr(levels(spec$Y[[nm]])),
                             mean_count = arr(rowMeans(tab)))
    }
  }
  list(pooled = pooled, seconds = t_imp, fits = fits, cat_freq = cat_freq,
       coef_names = names(fixed_coef(fits[[1]])))
}

run_chain <- function(spec) {
  set.seed(spec$chain_seed)
  t0 <- proc.time()[["elapsed"]]
  ch <- do.call(jomo::jomo.MCMCchain, c(jomo_args(spec), list(nburn = spec$chain_nburn)))
  secs <- proc.time()[["elapsed"]] - t0
  list(chain = ch, seconds = secs)
}

summarise_chain <- function(spec, ch) {
  disc <- spec$chain_discard
  post <- list(
    seed = spec$chain_seed,
    nburn = spec$chain_nburn,
    discarded = disc,
    n_draws = spec$chain_nburn - disc,
    n_batches = N_BATCHES,
    worker = worker_name(ch)
  )
  # Labels of the random-effect positions (see u_labels): jomo's own labels
  # are replaced when q > 1 because they are wrong there.
  ulab <- NULL
  if (!is.null(spec$Z) && ncol(spec$Z) > 1L && !is.null(ch$collectcovu)) {
    ylat <- dimnames(ch$collectbeta)[[2]]
    ulab <- u_labels(ylat, names(spec$Z))
    if (!is.null(ch$collect.l2.beta)) ulab <- c(ulab, dimnames(ch$collect.l2.beta)[[2]])
  }
  if (!is.null(ulab)) {
    dimnames(ch$collectcovu)[1:2] <- list(ulab, ulab)
    dimnames(ch$collectu)[[2]] <- ulab
  }
  post$beta <- summarise_draws(ch$collectbeta, disc, N_BATCHES)
  post$l1cov <- summarise_draws(ch$collectomega, disc, N_BATCHES)
  if (!is.null(ch$collectcovu)) {
    post$l2cov <- summarise_draws(ch$collectcovu, disc, N_BATCHES, rows = ulab, cols = ulab)
  }
  if (!is.null(ch$collect.l2.beta)) post$l2beta <- summarise_draws(ch$collect.l2.beta, disc, N_BATCHES)
  if (!is.null(ch$collectu)) post$u <- summarise_draws(ch$collectu, disc, N_BATCHES, cols = ulab)
  arrays <- ch[intersect(names(ch), c("collectbeta", "collectomega", "collectcovu",
                                      "collect.l2.beta"))]
  post$autocorrelation <- max_abs_acf(arrays, disc, lags = c(1L, spec$nbetween))
  post
}

# Random-effect layout (spec section 1): for q > 1, column k + q*t (0-based)
# holds Z column k of outcome t, i.e. the Z index runs fastest, while jomo's
# labels list the outcome fastest. Labels in Z-fastest order:
u_labels <- function(ynames, znames) {
  as.vector(outer(znames, ynames, function(z, y) paste0(y, "*", z)))
}

# Empirical check of the u layout: correlate the posterior means of the
# columns of u with per-cluster summaries of the observed data.
u_layout_check <- function(spec, umean) {
  d <- spec$d
  cl <- spec$clus
  s <- function(v, sx) tapply(ifelse(d$sex == sx, d[[v]], NA), cl, mean, na.rm = TRUE)
  emp <- cbind(english_sex0 = s("english", 0), english_sex_diff = s("english", 1) - s("english", 0),
               ravens_sex0 = s("ravens", 0), ravens_sex_diff = s("ravens", 1) - s("ravens", 0))
  cm <- stats::cor(umean, emp, use = "pairwise.complete.obs")
  labelled(cm, rows = paste0("u_col", seq_len(ncol(umean))), cols = colnames(emp))
}

# For each missingness pattern of Y (rows of the data, in data order), the
# cluster of the first row with that pattern: jomo's hr samplers impute all
# rows with that pattern using this cluster's level-1 covariance.
first_cluster_by_pattern <- function(spec) {
  miss <- is.na(as.matrix(spec$Y))
  pat <- apply(miss, 1, function(r) {
    m <- names(spec$Y)[r]
    if (length(m) == 0L) "complete" else paste(m, collapse = "+")
  })
  keep <- pat != "complete"
  first <- tapply(as.character(spec$clus)[keep], pat[keep], function(s) s[1])
  paste0(spec$clus_name, " ", first, " for missing ", names(first), collapse = "; ")
}

make_fixture <- function(name) {
  spec <- models[[name]]()
  cat(sprintf("== %s: imputation (nburn %d, nbetween %d, nimp %d) ...\n",
              name, spec$nburn, spec$nbetween, NIMP))
  imp <- run_imputation(spec)
  cat(sprintf("   jomo imputation: %.1f s\n", imp$seconds))
  cat(sprintf("== %s: MCMC chain (nburn %d) ...\n", name, spec$chain_nburn))
  chr <- run_chain(spec)
  cat(sprintf("   jomo.MCMCchain: %.1f s (%.3f ms/iter)\n", chr$seconds,
              1000 * chr$seconds / spec$chain_nburn))
  post <- summarise_chain(spec, chr$chain)

  ynames_latent <- dimnames(chr$chain$collectbeta)[[2]]
  q <- if (is.null(spec$Z)) 1L else ncol(spec$Z)
  model <- list(
    jomo_call = "jomo",
    worker = sub("\\.MCMCchain.*$", "", worker_name(chr$chain)),
    Y = arr(names(spec$Y)),
    Y_info = variable_info(spec$Y),
    Y_latent_columns = arr(ynames_latent),
    latent_levels = latent_map(spec$Y),
    X = if (is.null(spec$X)) NULL else arr(names(spec$X)),
    X_default_intercept = is.null(spec$X),
    Z = if (is.null(spec$Z)) NULL else arr(names(spec$Z)),
    Z_default_intercept = !is.null(spec$clus) && is.null(spec$Z),
    clus = spec$clus_name,
    n_clusters = if (is.null(spec$clus)) NULL else nlevels(factor(spec$clus)),
    cluster_order = if (is.null(spec$clus)) NULL else arr(levels(factor(spec$clus))),
    Y2 = if (is.null(spec$Y2)) NULL else arr(names(spec$Y2)),
    Y2_info = variable_info(spec$Y2, spec$clus),
    X2 = if (is.null(spec$X2)) NULL else arr(names(spec$X2)),
    meth = if (is.null(spec$clus)) NULL else spec$meth,
    a = spec$a,
    priors = "jomo defaults (l1cov.prior = I, l2cov.prior = I)",
    starting_values = "jomo defaults"
  )
  if (!is.null(spec$clus) && q > 1L) {
    model$u_layout <- list(
      note = paste("Columns of u / rows and columns of l2cov: position k + q*t (0-based)",
                   "holds Z column k of outcome t (Z index fastest). jomo's own labels",
                   "list the outcome fastest and are wrong for q > 1."),
      labels = arr(u_labels(ynames_latent, names(spec$Z))),
      jomo_labels = arr(dimnames(chr$chain$collectcovu)[[1]])
    )
  }

  issues <- c(
    if (identical(spec$meth, "fixed") || identical(spec$meth, "random")) paste(
      "Pattern-cache bug (jomo-samplers.md section 6.5), verified for jomo", 
      as.character(utils::packageVersion("jomo")), "with a black-box experiment:",
      "missing values of every cluster are imputed with the level-1 covariance of the",
      "first cluster (in data order) that has the same missingness pattern",
      paste0("(", first_cluster_by_pattern(spec), ")."),
      "In JSPmiss school 1 has a weak english-ravens correlation, so the imputations",
      "(and, through them, the chain) differ from the exact posterior.",
      "A sampler that uses each row's own cluster covariance will not reproduce these",
      "numbers; compare with a jomo-compatibility option or treat as a known difference."),
    if (identical(spec$meth, "random")) paste(
      "meth = \"random\" with continuous outcomes only: a = p + 50 = 52 is passed",
      "explicitly because jomo() passes a = NULL on that path (section 8.2).",
      "jomo does not return the draws of a."),
    if (!is.null(spec$Z) && ncol(spec$Z) > 1L) paste(
      "Random-effect labels: jomo labels the columns of collectu/collectcovu outcome-fastest,",
      "but position k + q*t holds Z column k of outcome t (Z fastest); posterior$u and",
      "posterior$l2cov use the corrected labels (model$u_layout). posterior$u_layout_check",
      "correlates the posterior means of the u columns with per-cluster observed means and",
      "supports the Z-fastest layout."),
    if (any(vapply(spec$Y, is.factor, logical(1)))) paste(
      "Categorical outcomes make jomo update the level-1 covariance by an element-wise",
      "random-walk Metropolis step that ignores l1cov.prior; the chain mixes slowly,",
      "hence the larger nbetween and the longer posterior chain.")
  )
  fx <- list(
    fixture = name,
    issue = spec$issue,
    description = spec$description,
    data = list(name = spec$data_name, file = spec$data_file, n_rows = nrow(spec$d),
                row_order = if (identical(spec$meth, "fixed") || identical(spec$meth, "random"))
                  "sorted by school (stable)" else "as in the CSV"),
    model = model,
    imputation = list(
      seed = spec$seed, nburn = spec$nburn, nbetween = spec$nbetween, nimp = NIMP,
      total_iterations = spec$nburn + (NIMP - 1L) * spec$nbetween
    ),
    analysis = list(
      fun = spec$analysis$fun,
      formula = paste(deparse(spec$analysis$formula), collapse = " "),
      REML = if (spec$analysis$fun == "lmer") TRUE else NULL,
      coefficient_names = arr(imp$coef_names),
      contrasts = if ("fluent" %in% names(spec$Y)) "treatment, reference level \"0\"" else NULL
    ),
    pooled = imp$pooled,
    imputed_category_counts = imp$cat_freq,
    posterior = post,
    notes = if (is.null(issues)) I(character(0)) else arr(issues),
    versions = versions()
  )
  if (!is.null(spec$clus) && q > 1L) {
    fx$posterior$u_layout_check <- u_layout_check(spec, fx$posterior$u$mean)
  }

  if (!is.null(spec$jomoImpute)) {
    ji <- spec$jomoImpute
    cat(sprintf("== %s: mitml::jomoImpute ...\n", name))
    t0 <- proc.time()[["elapsed"]]
    mi <- mitml::jomoImpute(data = spec$d, formula = ji$formula, n.burn = ji$n.burn,
                            n.iter = ji$n.iter, m = NIMP, seed = ji$seed, silent = TRUE)
    cat(sprintf("   jomoImpute: %.1f s\n", proc.time()[["elapsed"]] - t0))
    il <- mitml::mitmlComplete(mi, print = "all")
    fits <- lapply(il, function(x) fit_analysis(spec, x))
    fx$jomoImpute <- list(
      formula = paste(deparse(ji$formula), collapse = " "),
      n.burn = ji$n.burn, n.iter = ji$n.iter, m = NIMP, seed = ji$seed,
      pooled = pool_fits(fits, extra = TRUE)
    )
  }

  path <- file.path(OUT_DIR, paste0(name, ".json"))
  write_fixture(fx, path)
  cat(sprintf("   wrote %s\n", path))
  invisible(fx)
}

# ---------------------------------------------------------------------------

main <- function() {
  args <- commandArgs(trailingOnly = TRUE)
  if ("--list" %in% args) {
    cat(names(models), sep = "\n")
    return(invisible())
  }
  todo <- if (length(args) == 0L) names(models) else args
  bad <- setdiff(todo, names(models))
  if (length(bad)) stop("unknown model(s): ", paste(bad, collapse = ", "),
                        "; known: ", paste(names(models), collapse = ", "))
  for (nm in todo) {
    t0 <- proc.time()[["elapsed"]]
    make_fixture(nm)
    cat(sprintf("   total %s: %.1f s\n", nm, proc.time()[["elapsed"]] - t0))
  }
}

if (sys.nframe() == 0L) main()
