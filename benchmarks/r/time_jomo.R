#!/usr/bin/env Rscript
# Time jomo's Gibbs sampler per iteration, for skjomo's benchmarks.
#
# Usage:
#   Rscript benchmarks/r/time_jomo.R MODEL N_ITER [CSV] [options]
#
# MODEL is one of the fixture models of tests/r/make_jomo_fixtures.R
# (jsp_single_con, jsp_single_mix, jsp_ml_mix, exam_ml_l2, sr_ml_con,
# jsp_ml_slope, jsp_hr_fixed, jsp_hr_random) or big_con / big_mix, which read
# a simulated data set from CSV (required for those two). N_ITER is the number
# of Gibbs iterations (raised if needed, see below); the JSON reports the
# number actually run.
#
# CSV layout for big_con / big_mix (the Python benchmark writes it):
#   cluster column           --clus=cluster        (default "cluster")
#   continuous outcomes      --y=y1,y2             (default "y1,y2")
#   categorical outcomes     --cat=c1,c2           (default "c1,c2"; big_mix only)
#   covariates (besides the intercept, complete) --x=x  (default: "x" if present)
#   level-1 covariance      --meth=common|fixed|random (default common)
# Missing values are empty fields or NA. Categorical columns are read as
# factors with levels in sorted order (jomo's reference category is the last).
# The model is two-level with a random intercept and a common level-1
# covariance (jomo1rancon / jomo1ranmix).
#
# What is timed: jomo.MCMCchain (one chain of N_ITER iterations, no
# imputation output), measured with system.time. The set-up cost is measured
# with a 1-iteration run and subtracted (t = wall-clock seconds):
#   ms_per_iter       = (t(N_ITER) - t(1)) / (N_ITER - 1) * 1000   (marginal)
#   cpu_ms_per_iter   = the same with CPU (user + system) time
#   ms_per_iter_total = t(N_ITER) / N_ITER * 1000
#   setup_ms          = t(1) * 1000 - ms_per_iter
# N_ITER is raised until t(N_ITER) - t(1) >= --min-seconds (default 1).
# For two-level models with continuous level-1 outcomes only and a common
# covariance (sr_ml_con, jsp_ml_slope, big_con) mitml::panImpute (package pan)
# is timed the same way (pan_ms_per_iter, pan_cpu_ms_per_iter, pan_ms_per_iter_total, pan_setup_ms)
# when pan is installed. Output: one JSON line on stdout.

suppressPackageStartupMessages({
  library(jomo)
  library(jsonlite)
})

local({
  args <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", args[grep("^--file=", args)])
  here <- if (length(f) == 1L) dirname(normalizePath(f)) else file.path("benchmarks", "r")
  root <- normalizePath(file.path(here, "..", ".."))
  source(file.path(root, "tests", "r", "fixture_helpers.R"), local = globalenv())
  source(file.path(root, "tests", "r", "make_jomo_fixtures.R"), local = globalenv())
})

parse_args <- function(args) {
  opts <- list(clus = "cluster", y = "y1,y2", cat = "c1,c2", x = NULL,
               min_seconds = 1, seed = 1L, no_pan = FALSE)
  pos <- character(0)
  for (a in args) {
    if (grepl("^--", a)) {
      kv <- strsplit(sub("^--", "", a), "=", fixed = TRUE)[[1]]
      key <- gsub("-", "_", kv[1])
      val <- if (length(kv) > 1L) paste(kv[-1], collapse = "=") else TRUE
      opts[[key]] <- val
    } else {
      pos <- c(pos, a)
    }
  }
  if (length(pos) < 2L) stop("usage: time_jomo.R MODEL N_ITER [CSV] [options]")
  opts$model <- pos[1]
  opts$n_iter <- as.integer(pos[2])
  opts$csv <- if (length(pos) >= 3L) pos[3] else NULL
  opts$min_seconds <- as.numeric(opts$min_seconds)
  opts$seed <- as.integer(opts$seed)
  opts$no_pan <- isTRUE(as.logical(opts$no_pan))
  opts
}

split_names <- function(s) if (is.null(s) || identical(s, "")) character(0) else strsplit(s, ",")[[1]]

big_spec <- function(opts, mix) {
  if (is.null(opts$csv)) stop(opts$model, " needs the CSV path as third argument")
  d <- utils::read.csv(opts$csv, na.strings = c("", "NA"), stringsAsFactors = FALSE)
  yc <- split_names(opts$y)
  yk <- if (mix) split_names(opts$cat) else character(0)
  xn <- if (is.null(opts$x)) intersect("x", names(d)) else split_names(opts$x)
  need <- c(opts$clus, yc, yk, xn)
  miss <- setdiff(need, names(d))
  if (length(miss)) stop("columns not found in ", opts$csv, ": ", paste(miss, collapse = ", "))
  for (v in yc) d[[v]] <- as.numeric(d[[v]])
  for (v in yk) d[[v]] <- factor(d[[v]], levels = sort(unique(d[[v]][!is.na(d[[v]])])))
  X <- data.frame(cons = rep(1, nrow(d)))
  for (v in xn) X[[v]] <- as.numeric(d[[v]])
  clus <- d[[opts$clus]]
  clus <- if (is.numeric(clus)) numeric_factor(clus) else factor(clus)
  pan_formula <- NULL
  if (!mix) {
    rhs <- paste(c("1", xn), collapse = " + ")
    pan_formula <- stats::as.formula(paste(paste(yc, collapse = " + "), "~", rhs,
                                           "+ (1|", opts$clus, ")"))
  }
  # --meth=fixed|random: cluster-specific covariances (rows sorted by cluster,
  # as jomo requires); "random" gets a = p + 50 explicitly (p latent columns)
  meth <- if (is.null(opts$meth)) "common" else opts$meth
  a <- NULL
  if (meth != "common") {
    d <- d[order(clus), , drop = FALSE]
    X <- X[order(clus), , drop = FALSE]
    clus <- clus[order(clus)]
    if (meth == "random") {
      p <- length(yc) + sum(vapply(yk, function(v) nlevels(d[[v]]) - 1L, integer(1)))
      a <- p + 50
    }
    pan_formula <- NULL
  }
  list(d = d, Y = d[, c(yc, yk), drop = FALSE], X = X, Z = NULL, clus = clus,
       Y2 = NULL, X2 = NULL, meth = meth, a = a, pan_formula = pan_formula,
       pan_data = d)
}

fixture_spec <- function(name) {
  spec <- models[[name]]()
  spec$pan_formula <- switch(name,
    sr_ml_con = ReadAchiev + ReadDis + SchClimate ~ 1 + (1 | ID),
    jsp_ml_slope = english + ravens ~ 1 + sex + (1 + sex | school),
    NULL)
  spec$pan_data <- spec$d
  spec
}

quiet <- function(expr) {
  utils::capture.output(res <- force(expr))
  invisible(res)
}

# Wall-clock and CPU (user + system) seconds of evaluating expr.
elapsed <- function(expr) {
  st <- system.time(expr, gcFirst = TRUE)
  c(wall = st[["elapsed"]], cpu = st[["user.self"]] + st[["sys.self"]])
}

# Time of a 1-iteration run. When it is cheap, a first call serves as warm-up.
baseline <- function(run) {
  t1 <- run(1L)
  if (t1[["wall"]] < 2) t1 <- run(1L)
  t1
}

time_jomo_chain <- function(spec, n, seed) {
  args <- jomo_args(spec)
  run <- function(k) {
    set.seed(seed)
    elapsed(quiet(do.call(jomo::jomo.MCMCchain, c(args, list(nburn = k)))))
  }
  list(t1 = baseline(run), run = run)
}

time_pan <- function(spec, seed) {
  run <- function(k) {
    elapsed(quiet(mitml::panImpute(spec$pan_data, formula = spec$pan_formula,
                                   n.burn = k, n.iter = 1L, m = 1L, seed = seed,
                                   silent = TRUE)))
  }
  list(t1 = baseline(run), run = run)
}

# Run with n iterations; scale n up until the iterations beyond the
# 1-iteration run take >= min_seconds of wall-clock time.
measure <- function(timer, n, min_seconds, iters_of = function(k) k) {
  it_1 <- iters_of(1L)
  repeat {
    tn <- timer$run(n)
    work <- tn[["wall"]] - timer$t1[["wall"]]
    if (work >= min_seconds || n >= 1e7) break
    per <- max(work, 1e-3) / max(1, iters_of(n) - it_1)
    n <- as.integer(ceiling(max(2 * n, 1.3 * min_seconds / per)))
  }
  it_n <- iters_of(n)
  per <- (tn - timer$t1) / (it_n - it_1)
  list(n_iter = it_n, seconds = tn[["wall"]],
       ms_per_iter = 1000 * per[["wall"]],
       cpu_ms_per_iter = 1000 * per[["cpu"]],
       ms_per_iter_total = 1000 * tn[["wall"]] / it_n,
       setup_ms = 1000 * (timer$t1[["wall"]] - it_1 * per[["wall"]]))
}

main <- function() {
  opts <- parse_args(commandArgs(trailingOnly = TRUE))
  spec <- switch(opts$model,
    big_con = big_spec(opts, mix = FALSE),
    big_mix = big_spec(opts, mix = TRUE),
    {
      if (!opts$model %in% names(models)) {
        stop("unknown model ", opts$model, "; known: ",
             paste(c(names(models), "big_con", "big_mix"), collapse = ", "))
      }
      fixture_spec(opts$model)
    })
  jt <- time_jomo_chain(spec, opts$n_iter, opts$seed)
  jm <- measure(jt, max(2L, opts$n_iter), opts$min_seconds)
  out <- list(model = opts$model, ms_per_iter = jm$ms_per_iter, n_iter = jm$n_iter,
              seconds = jm$seconds, cpu_ms_per_iter = jm$cpu_ms_per_iter,
              ms_per_iter_total = jm$ms_per_iter_total,
              setup_ms = jm$setup_ms, n_rows = nrow(spec$Y),
              n_clusters = if (is.null(spec$clus)) NULL else nlevels(factor(spec$clus)),
              jomo_version = as.character(utils::packageVersion("jomo")))
  has_pan <- requireNamespace("pan", quietly = TRUE) && requireNamespace("mitml", quietly = TRUE)
  if (!is.null(spec$pan_formula) && has_pan && !opts$no_pan) {
    pt <- time_pan(spec, opts$seed)
    pm <- measure(pt, max(2L, opts$n_iter), opts$min_seconds, iters_of = function(k) k + 1L)
    out$pan_ms_per_iter <- pm$ms_per_iter
    out$pan_n_iter <- pm$n_iter
    out$pan_cpu_ms_per_iter <- pm$cpu_ms_per_iter
    out$pan_ms_per_iter_total <- pm$ms_per_iter_total
    out$pan_setup_ms <- pm$setup_ms
    out$pan_version <- as.character(utils::packageVersion("pan"))
    out$pan_method <- "mitml::panImpute(n.burn = n_iter - 1, n.iter = 1, m = 1)"
  }
  cat(jsonlite::toJSON(out, auto_unbox = TRUE, digits = 6, null = "null"), "\n", sep = "")
}

main()
