#!/usr/bin/env Rscript
# Time jomo.coxph per iteration on surdata, for benchmarks/bench_smc_cox_vs_jomo.py.
#
# Usage: Rscript benchmarks/r/time_jomo_coxph.R N_ITER
#
# For each model, jomo.coxph runs with nburn = N_ITER and with nburn = 10
# (both nbetween = 1, nimp = 2, output = 0); the marginal cost of one
# iteration is the difference of their CPU times divided by N_ITER - 10.
# Prints one JSON object: model -> CPU milliseconds per iteration.
suppressMessages({
  library(jomo)
  library(survival)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = TRUE)
n_iter <- if (length(args)) as.integer(args[1]) else 2000L
data(surdata)
d <- surdata[, c("time", "status", "measure", "sex")]
formulas <- list(
  cox_quadratic = Surv(time, status) ~ measure + sex + I(measure^2),
  cox_interaction = Surv(time, status) ~ measure * sex)
cpu <- function(expr) {
  t <- system.time(expr)
  t[["user.self"]] + t[["sys.self"]]
}
out <- list()
for (name in names(formulas)) {
  set.seed(1)
  run <- function(nburn) jomo.coxph(formulas[[name]], d, nburn = nburn, nbetween = 1, nimp = 2,
                                    output = 0)
  invisible(capture.output(short <- cpu(run(10L))))
  invisible(capture.output(long <- cpu(run(n_iter))))
  out[[name]] <- 1000 * (long - short) / (n_iter - 10L)
}
cat(toJSON(out, auto_unbox = TRUE, digits = NA))
