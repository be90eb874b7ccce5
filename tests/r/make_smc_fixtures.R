#!/usr/bin/env Rscript
# Reference fixtures for SubstantiveModelImputer: jomo.lm / jomo.glm on sldata.
#
# Usage (from the repository root):
#   Rscript tests/r/make_smc_fixtures.R            # writes tests/fixtures/jomo/smc_sldata.json
#   Rscript tests/r/make_smc_fixtures.R --stdout --runs 5   # print the JSON of 5 runs
#                                                            # (the live-R test)
#
# For every model this runs jomo's substantive-model-compatible function
# N_RUNS times with different seeds (NIMP imputations each), fits the
# analysis model to every completed data set and pools by Rubin's rules
# (computed here: pooled estimate, total-variance SE). The spread of the
# pooled estimates over runs is the Monte Carlo SD of one run's pooled
# estimate. The data (jomo's sldata) are stored too, so the Python test
# needs no R. jomo is used as a black box.

suppressMessages({
  library(jomo)
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
  est <- sapply(fits, coef)
  within <- rowMeans(sapply(fits, function(f) diag(vcov(f))))
  m <- length(fits)
  between <- apply(est, 1, var)
  list(estimate = as.list(rowMeans(est)),
       se = as.list(sqrt(within + (1 + 1 / m) * between)))
}

run_model <- function(make_imputations, analysis, seed) {
  set.seed(seed)
  imp <- make_imputations()
  fits <- lapply(seq_len(NIMP), function(k) analysis(imp[imp$Imputation == k, ]))
  rubin(fits)
}

models <- list(
  lm_interaction_factor = list(
    description = "jomo.lm(measure ~ age * social), social a factor (12 missing), measure 84 missing",
    formula = "measure ~ age * social", model = "lm", categorical = list("social"),
    impute = function() {
      d <- within(sldata[, c("measure", "age", "social")], social <- factor(social))
      jomo.lm(measure ~ age * social, d, nburn = NBURN, nbetween = NBETWEEN, nimp = NIMP,
              output = 0)
    },
    analysis = function(d) lm(measure ~ age * social, data = d)),
  lm_quadratic_numeric = list(
    description = "jomo.lm(measure ~ age * social + I(age^2)), social numeric",
    formula = "measure ~ age * social + I(age**2)", model = "lm", categorical = list(),
    impute = function() {
      jomo.lm(measure ~ age * social + I(age^2), sldata[, c("measure", "age", "social")],
              nburn = NBURN, nbetween = NBETWEEN, nimp = NIMP, output = 0)
    },
    analysis = function(d) lm(measure ~ age * social + I(age^2), data = d)),
  glm_binary = list(
    description = paste("jomo.glm(sex ~ age + measure, binomial) (probit in jomo),",
                        "analysis by logistic glm; measure 84 missing"),
    formula = "sex ~ age + measure", model = "logit", categorical = list(),
    impute = function() {
      d <- within(sldata[, c("measure", "age", "sex")], sex <- factor(sex))
      jomo.glm(sex ~ age + measure, d, family = "binomial", nburn = NBURN,
               nbetween = NBETWEEN, nimp = NIMP, output = 0)
    },
    analysis = function(d) glm(sex ~ age + measure, family = binomial, data = d))
)

out <- list(
  data = sldata,
  settings = list(n_runs = N_RUNS, nimp = NIMP, nburn = NBURN, nbetween = NBETWEEN),
  versions = list(R = paste(R.version$major, R.version$minor, sep = "."),
                  jomo = as.character(packageVersion("jomo"))),
  models = list())
for (name in names(models)) {
  spec <- models[[name]]
  t0 <- proc.time()[["elapsed"]]
  runs <- lapply(seq_len(N_RUNS), function(r) run_model(spec$impute, spec$analysis, 1000L + r))
  elapsed <- proc.time()[["elapsed"]] - t0
  message(sprintf("%s: %d runs in %.1f s (%.2f ms per iteration)", name, N_RUNS, elapsed,
                  1000 * elapsed / (N_RUNS * (NBURN + NBETWEEN * NIMP))))
  out$models[[name]] <- list(description = spec$description, formula = spec$formula,
                             model = spec$model, categorical = spec$categorical,
                             runs = runs)
}

json <- toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", pretty = TRUE)
if ("--stdout" %in% ARGS) {
  cat(json)
} else {
  args <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", args[grep("^--file=", args)])
  root <- normalizePath(file.path(dirname(normalizePath(f)), "..", ".."))
  writeLines(json, file.path(root, "tests", "fixtures", "jomo", "smc_sldata.json"))
}
