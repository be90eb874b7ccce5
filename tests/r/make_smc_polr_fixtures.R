#!/usr/bin/env Rscript
# Reference fixtures for SubstantiveModelImputer(model="ordinal"): jomo.polr on sldata.
#
# Usage (from the repository root):
#   Rscript tests/r/make_smc_polr_fixtures.R      # writes tests/fixtures/jomo/smc_polr_sldata.json
#   Rscript tests/r/make_smc_polr_fixtures.R --stdout --runs 5   # print the JSON of 5 runs
#                                                                 # (the live-R test)
#
# The outcome is jomo's sldata$social (4 ordered categories, 12 missing);
# measure has 84 missing values. For every model this runs jomo.polr N_RUNS
# times with different seeds (NIMP imputations each), fits the proportional
# odds model with MASS::polr (logit link) to every completed data set and
# pools coefficients and cut-points (zeta) by Rubin's rules (pooled
# estimate, total-variance SE). The spread of the pooled estimates over
# runs is the Monte Carlo SD of one run's pooled estimate. jomo.polr's own
# analysis model is a probit one; the analysis here is the logit polr the
# user fits afterwards (doc/smc.rst, "Differences from R's jomo"). jomo is
# used as a black box.

suppressMessages({
  library(jomo)
  library(MASS)
  library(jsonlite)
})
RNGkind("Mersenne-Twister", "Inversion", "Rejection")

ARGS <- commandArgs(trailingOnly = TRUE)
N_RUNS <- if ("--runs" %in% ARGS) as.integer(ARGS[which(ARGS == "--runs") + 1L]) else 20L
NIMP <- 20L
NBURN <- 1000L
NBETWEEN <- 100L

data(sldata)

rubin <- function(fits) {
  est <- sapply(fits, function(f) c(coef(f), f$zeta))
  within <- rowMeans(sapply(fits, function(f) diag(vcov(f))))
  m <- length(fits)
  between <- apply(est, 1, var)
  list(estimate = as.list(rowMeans(est)),
       se = as.list(sqrt(within + (1 + 1 / m) * between)))
}

ordered_data <- function(columns) {
  within(sldata[, columns], social <- factor(social, ordered = TRUE))
}

models <- list(
  polr_example = list(
    description = "jomo.polr(social ~ age + measure) (jomo's example); measure 84, social 12 missing",
    formula = "social ~ age + measure",
    columns = c("social", "age", "measure")),
  polr_interaction = list(
    description = "jomo.polr(social ~ age + measure * sex), sex numeric 0/1",
    formula = "social ~ age + measure * sex",
    columns = c("social", "age", "measure", "sex"))
)

run_model <- function(spec, seed) {
  set.seed(seed)
  f <- as.formula(spec$formula)
  # jomo.polr prints a notice on standard output even with output = 0: keep
  # standard output for the JSON
  invisible(capture.output(
    imp <- jomo.polr(f, ordered_data(spec$columns), nburn = NBURN, nbetween = NBETWEEN,
                     nimp = NIMP, output = 0)))
  fits <- lapply(seq_len(NIMP), function(k) {
    polr(f, data = imp[imp$Imputation == k, ], Hess = TRUE, method = "logistic")
  })
  rubin(fits)
}

out <- list(
  data = sldata,
  settings = list(n_runs = N_RUNS, nimp = NIMP, nburn = NBURN, nbetween = NBETWEEN),
  versions = list(R = paste(R.version$major, R.version$minor, sep = "."),
                  jomo = as.character(packageVersion("jomo")),
                  MASS = as.character(packageVersion("MASS"))),
  models = list())
for (name in names(models)) {
  spec <- models[[name]]
  t0 <- proc.time()[["elapsed"]]
  runs <- lapply(seq_len(N_RUNS), function(r) run_model(spec, 2000L + r))
  elapsed <- proc.time()[["elapsed"]] - t0
  message(sprintf("%s: %d runs in %.1f s (%.2f ms per iteration)", name, N_RUNS, elapsed,
                  1000 * elapsed / (N_RUNS * (NBURN + NBETWEEN * NIMP))))
  out$models[[name]] <- list(description = spec$description, formula = spec$formula,
                             columns = spec$columns, runs = runs)
}

json <- toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", pretty = TRUE)
if ("--stdout" %in% ARGS) {
  cat(json)
} else {
  args <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", args[grep("^--file=", args)])
  root <- normalizePath(file.path(dirname(normalizePath(f)), "..", ".."))
  writeLines(json, file.path(root, "tests", "fixtures", "jomo", "smc_polr_sldata.json"))
}
