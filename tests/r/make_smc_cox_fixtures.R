#!/usr/bin/env Rscript
# Reference fixtures for SubstantiveModelImputer(model="cox"): jomo.coxph on surdata.
#
# Usage (from the repository root):
#   Rscript tests/r/make_smc_cox_fixtures.R            # writes tests/fixtures/jomo/smc_surdata.json
#   Rscript tests/r/make_smc_cox_fixtures.R --stdout --runs 5   # print the JSON of 5 runs
#                                                                # (the live-R test)
#
# For every model this runs jomo.coxph N_RUNS times with different seeds (NIMP
# imputations each), fits the Cox model (survival::coxph, Breslow ties as
# statsmodels' PHReg) to every completed data set and pools by Rubin's rules
# (pooled estimate, total-variance SE). The spread of the pooled estimates over
# runs is the Monte Carlo SD of one run's pooled estimate. The data (jomo's
# surdata: time, status, measure with 200 and sex with 100 missing values) are
# stored too, so the Python test needs no R. jomo is used as a black box.

suppressMessages({
  library(jomo)
  library(survival)
  library(jsonlite)
})
RNGkind("Mersenne-Twister", "Inversion", "Rejection")

ARGS <- commandArgs(trailingOnly = TRUE)
N_RUNS <- if ("--runs" %in% ARGS) as.integer(ARGS[which(ARGS == "--runs") + 1L]) else 20L
NIMP <- 20L
NBURN <- 1000L
NBETWEEN <- 100L

data(surdata)
surdata_cols <- surdata[, c("time", "status", "measure", "sex")]

rubin <- function(fits) {
  est <- sapply(fits, coef)
  within <- rowMeans(sapply(fits, function(f) diag(vcov(f))))
  m <- length(fits)
  between <- apply(est, 1, var)
  list(estimate = as.list(rowMeans(est)),
       se = as.list(sqrt(within + (1 + 1 / m) * between)))
}

run_model <- function(formula, seed) {
  set.seed(seed)
  # jomo.coxph prints a notice to stdout even with output = 0: keep stdout for the JSON
  invisible(capture.output(
    imp <- jomo.coxph(formula, surdata_cols, nburn = NBURN, nbetween = NBETWEEN, nimp = NIMP,
                      output = 0)))
  fits <- lapply(seq_len(NIMP), function(k)
    coxph(formula, data = imp[imp$Imputation == k, ], ties = "breslow"))
  rubin(fits)
}

models <- list(
  cox_quadratic = list(
    description = "jomo.coxph(Surv(time, status) ~ measure + sex + I(measure^2)) (jomo's example)",
    formula = "Surv(time, status) ~ measure + sex + I(measure**2)",
    r_formula = Surv(time, status) ~ measure + sex + I(measure^2)),
  cox_interaction = list(
    description = "jomo.coxph(Surv(time, status) ~ measure * sex)",
    formula = "Surv(time, status) ~ measure * sex",
    r_formula = Surv(time, status) ~ measure * sex)
)

data_out <- surdata_cols
data_out$sex <- as.numeric(as.character(data_out$sex))
out <- list(
  data = data_out,
  settings = list(n_runs = N_RUNS, nimp = NIMP, nburn = NBURN, nbetween = NBETWEEN),
  versions = list(R = paste(R.version$major, R.version$minor, sep = "."),
                  jomo = as.character(packageVersion("jomo")),
                  survival = as.character(packageVersion("survival"))),
  models = list())
for (name in names(models)) {
  spec <- models[[name]]
  t0 <- proc.time()[["elapsed"]]
  runs <- lapply(seq_len(N_RUNS), function(r) run_model(spec$r_formula, 2000L + r))
  elapsed <- proc.time()[["elapsed"]] - t0
  message(sprintf("%s: %d runs in %.1f s (%.2f ms per iteration)", name, N_RUNS, elapsed,
                  1000 * elapsed / (N_RUNS * (NBURN + NBETWEEN * NIMP))))
  out$models[[name]] <- list(description = spec$description, formula = spec$formula,
                             categorical = list("sex"), runs = runs)
}

json <- toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", pretty = TRUE)
if ("--stdout" %in% ARGS) {
  cat(json)
} else {
  args <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", args[grep("^--file=", args)])
  root <- normalizePath(file.path(dirname(normalizePath(f)), "..", ".."))
  writeLines(json, file.path(root, "tests", "fixtures", "jomo", "smc_surdata.json"))
}
