# Helpers shared by the R scripts that make skjomo's jomo fixtures.
#
# Sourced by tests/r/make_jomo_fixtures.R, tests/r/pool_fits.R and
# benchmarks/r/time_jomo.R. Only base R, jomo, mitml, lme4 and jsonlite are
# used; jomo and mitml are run as black boxes.

suppressPackageStartupMessages({
  library(jomo)
  library(mitml)
  library(lme4)
  library(jsonlite)
})

# ---------------------------------------------------------------------------
# Locations
# ---------------------------------------------------------------------------

# Directory of the running script (works with Rscript and with source()).
script_dir <- function() {
  args <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", args[grep("^--file=", args)])
  if (length(f) == 1L) return(dirname(normalizePath(f)))
  for (i in rev(seq_len(sys.nframe()))) {
    of <- sys.frame(i)$ofile
    if (!is.null(of)) return(dirname(normalizePath(of)))
  }
  getwd()
}

# Repository root: tests/r/.. /.. (or benchmarks/r/../..).
repo_root <- function(dir = script_dir()) {
  normalizePath(file.path(dir, "..", ".."))
}

data_dir <- function(root = repo_root()) {
  file.path(root, "skjomo", "datasets", "data")
}

# ---------------------------------------------------------------------------
# Data loading. In the CSVs, quoted columns were R factors; read.csv strips
# the quotes, so the factor columns are declared here explicitly. Cluster
# identifiers that are integers keep their numeric order as factor levels
# (this is the order in which jomo numbers the clusters).
# ---------------------------------------------------------------------------

numeric_factor <- function(x) {
  factor(x, levels = as.character(sort(unique(x))))
}

load_jspmiss <- function(root = repo_root()) {
  d <- read.csv(file.path(data_dir(root), "JSPmiss.csv"))
  d$school <- numeric_factor(d$school)
  d$id <- numeric_factor(d$id)
  d$fluent <- factor(d$fluent, levels = c("0", "1", "2"))
  d$behaviour <- factor(d$behaviour, levels = c("lowerquarter", "upper"))
  for (v in c("sex", "ravens", "english", "cons")) d[[v]] <- as.numeric(d[[v]])
  d
}

load_examscores <- function(root = repo_root()) {
  d <- read.csv(file.path(data_dir(root), "ExamScores.csv"))
  d$school <- numeric_factor(d$school)
  d$student <- numeric_factor(d$student)
  d$sex <- factor(d$sex, levels = c("boy", "girl"))
  d$schgend <- factor(d$schgend, levels = c("boysch", "girlsch", "mixedsch"))
  d$schav <- factor(d$schav, levels = c("high", "low", "mid"))
  d$vrband <- factor(d$vrband, levels = c("vb1", "vb2", "vb3"))
  d$cons <- as.numeric(d$cons)
  d
}

load_studentratings <- function(root = repo_root()) {
  d <- read.csv(file.path(data_dir(root), "studentratings.csv"))
  d$FedState <- factor(d$FedState, levels = c("B", "SH"))
  d$Sex <- factor(d$Sex, levels = c("Boy", "Girl"))
  d$ID <- as.numeric(d$ID)
  for (v in c("SES")) d[[v]] <- as.numeric(d[[v]])
  d
}

# ---------------------------------------------------------------------------
# JSON helpers
# ---------------------------------------------------------------------------

# Protect a vector from auto-unboxing (so length-1 vectors stay arrays).
arr <- function(x) {
  if (is.null(x)) return(NULL)
  I(unname(x))
}

# A labelled matrix: list(rows, cols, values) with values as a list of rows.
labelled <- function(m, rows = rownames(m), cols = colnames(m)) {
  m <- as.matrix(m)
  list(rows = arr(as.character(rows)), cols = arr(as.character(cols)),
       values = unname(m))
}

write_fixture <- function(obj, path) {
  dir.create(dirname(path), showWarnings = FALSE, recursive = TRUE)
  txt <- jsonlite::toJSON(obj, auto_unbox = TRUE, digits = NA, null = "null",
                          na = "null", pretty = TRUE, matrix = "rowmajor")
  writeLines(txt, path, useBytes = TRUE)
  invisible(path)
}

versions <- function() {
  pk <- c("jomo", "mitml", "lme4", "Matrix", "jsonlite", "pan")
  v <- lapply(pk, function(p) {
    tryCatch(as.character(utils::packageVersion(p)), error = function(e) NULL)
  })
  names(v) <- pk
  v <- v[!vapply(v, is.null, logical(1))]
  c(list(R = R.version.string,
         platform = R.version$platform,
         rng_kind = arr(RNGkind())),
    v)
}

# ---------------------------------------------------------------------------
# Imputation output -> list of completed data sets
# ---------------------------------------------------------------------------

# jomo's long output (Imputation 0 = original) -> list of nimp data frames.
completed_list <- function(imp) {
  m <- max(imp$Imputation)
  lapply(seq_len(m), function(k) imp[imp$Imputation == k, , drop = FALSE])
}

# ---------------------------------------------------------------------------
# Pooling (Rubin's rules via mitml::testEstimates) plus the within and
# between variances that testEstimates does not return.
# ---------------------------------------------------------------------------

fixed_coef <- function(fit) {
  if (inherits(fit, "merMod")) lme4::fixef(fit) else stats::coef(fit)
}

fixed_vcov <- function(fit) {
  as.matrix(stats::vcov(fit))
}

# Variance components of an lmer fit in the naming scheme of mitml's
# extra.pars ("Intercept~~Intercept|school", "Residual~~Residual",
# "ICC|school"), for random-intercept models.
lmer_var_components <- function(fit) {
  vc <- as.data.frame(lme4::VarCorr(fit))
  out <- numeric(0)
  for (r in seq_len(nrow(vc))) {
    g <- vc$grp[r]
    if (g == "Residual") {
      out["Residual~~Residual"] <- vc$vcov[r]
    } else {
      v1 <- sub("\\(Intercept\\)", "Intercept", vc$var1[r])
      v2 <- if (is.na(vc$var2[r])) v1 else sub("\\(Intercept\\)", "Intercept", vc$var2[r])
      out[paste0(v1, "~~", v2, "|", g)] <- vc$vcov[r]
    }
  }
  ints <- grep("^Intercept~~Intercept\\|", names(out), value = TRUE)
  for (nm in ints) {
    g <- sub("^Intercept~~Intercept\\|", "", nm)
    out[paste0("ICC|", g)] <- out[[nm]] / (out[[nm]] + out[["Residual~~Residual"]])
  }
  out
}

pool_fits <- function(fits, extra = FALSE, df.com = NULL) {
  ml <- fits
  te <- mitml::testEstimates(ml, extra.pars = extra)
  est <- te$estimates
  m <- length(fits)
  terms <- rownames(est)
  Q <- t(vapply(fits, function(f) fixed_coef(f)[terms], numeric(length(terms))))
  U <- t(vapply(fits, function(f) diag(fixed_vcov(f))[terms], numeric(length(terms))))
  colnames(Q) <- colnames(U) <- terms
  Q <- Q[, terms, drop = FALSE]
  U <- U[, terms, drop = FALSE]
  ubar <- colMeans(U)
  b <- apply(Q, 2, stats::var)
  # Internal consistency check against mitml.
  stopifnot(isTRUE(all.equal(unname(colMeans(Q)), unname(est[, "Estimate"]))),
            isTRUE(all.equal(unname(sqrt(ubar + (1 + 1 / m) * b)),
                             unname(est[, "Std.Error"]))))
  out <- list(
    terms = arr(terms),
    estimate = arr(est[, "Estimate"]),
    std_error = arr(est[, "Std.Error"]),
    t_value = arr(est[, "t.value"]),
    df = arr(est[, "df"]),
    p_value = arr(est[, "P(>|t|)"]),
    riv = arr(est[, "RIV"]),
    fmi = arr(est[, "FMI"]),
    ubar = arr(ubar),
    b = arr(b),
    mc_sd_estimate = arr(sqrt(b / m))
  )
  if (!is.null(df.com)) {
    te2 <- mitml::testEstimates(ml, df.com = df.com)
    out$df_com <- df.com
    out$df_adjusted <- arr(te2$estimates[terms, "df"])
  }
  res <- list(m = m, fixed = out)
  if (extra) {
    ep <- te$extra.pars
    comps <- t(vapply(fits, lmer_var_components, numeric(nrow(ep))))
    if (is.null(dim(comps))) comps <- matrix(comps, ncol = 1)
    comps <- comps[, rownames(ep), drop = FALSE]
    stopifnot(isTRUE(all.equal(unname(colMeans(comps)), unname(ep[, "Estimate"]))))
    res$extra_pars <- list(
      terms = arr(rownames(ep)),
      estimate = arr(ep[, "Estimate"]),
      b = arr(apply(comps, 2, stats::var)),
      mc_sd_estimate = arr(sqrt(apply(comps, 2, stats::var) / m))
    )
  }
  res
}

# ---------------------------------------------------------------------------
# Posterior summaries of .MCMCchain draws
# ---------------------------------------------------------------------------

# Batch-means Monte Carlo standard error of the mean of x (n_batches batches
# of equal size; a remainder at the start is dropped).
batch_means_se <- function(x, n_batches = 50L) {
  n <- length(x)
  size <- n %/% n_batches
  x <- x[(n - size * n_batches + 1):n]
  bm <- colMeans(matrix(x, nrow = size))
  stats::sd(bm) / sqrt(n_batches)
}

# Summary of a draws array (r x c x T): mean, sd, batch-means MCSE and ESS
# (= (sd / mcse)^2) per entry, after dropping the first `discard` draws.
summarise_draws <- function(a, discard, n_batches = 50L, rows = NULL, cols = NULL) {
  dm <- dim(a)
  keep <- (discard + 1):dm[3]
  M <- matrix(a[, , keep, drop = FALSE], nrow = dm[1] * dm[2])
  mean_ <- rowMeans(M)
  sd_ <- apply(M, 1, stats::sd)
  mcse_ <- apply(M, 1, batch_means_se, n_batches = n_batches)
  ess_ <- ifelse(mcse_ > 0, (sd_ / mcse_)^2, NA_real_)
  shape <- function(v) matrix(v, dm[1], dm[2])
  if (is.null(rows)) rows <- dimnames(a)[[1]]
  if (is.null(cols)) cols <- dimnames(a)[[2]]
  if (is.null(rows)) rows <- as.character(seq_len(dm[1]))
  if (is.null(cols)) cols <- as.character(seq_len(dm[2]))
  list(rows = arr(as.character(rows)), cols = arr(as.character(cols)),
       mean = unname(shape(mean_)), sd = unname(shape(sd_)),
       mcse = unname(shape(mcse_)), ess = unname(shape(ess_)))
}

# Largest absolute autocorrelation at the given lags over all entries of the
# parameter arrays (a convergence / independence diagnostic for nbetween).
max_abs_acf <- function(arrays, discard, lags) {
  res <- setNames(numeric(length(lags)), paste0("lag", lags))
  worst <- setNames(character(length(lags)), paste0("lag", lags))
  for (nm in names(arrays)) {
    a <- arrays[[nm]]
    dm <- dim(a)
    keep <- (discard + 1):dm[3]
    M <- matrix(a[, , keep, drop = FALSE], nrow = dm[1] * dm[2])
    rn <- outer(if (is.null(dimnames(a)[[1]])) seq_len(dm[1]) else dimnames(a)[[1]],
                if (is.null(dimnames(a)[[2]])) seq_len(dm[2]) else dimnames(a)[[2]],
                paste, sep = ",")
    for (k in seq_len(nrow(M))) {
      x <- M[k, ]
      if (stats::sd(x) == 0) next
      ac <- stats::acf(x, lag.max = max(lags), plot = FALSE)$acf[lags + 1]
      for (l in seq_along(lags)) {
        if (abs(ac[l]) > res[l]) {
          res[l] <- abs(ac[l])
          worst[l] <- paste0(nm, "[", rn[k], "]")
        }
      }
    }
  }
  list(lags = arr(lags), max_abs_acf = arr(unname(res)), parameter = arr(unname(worst)))
}
