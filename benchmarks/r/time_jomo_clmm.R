#!/usr/bin/env Rscript
# Time jomo.clmm per iteration on cldata, for benchmarks/bench_smc_clmm_vs_jomo.py.
#
# Usage: Rscript benchmarks/r/time_jomo_clmm.R N_ITER
#
# jomo's own example social ~ age + measure + (1 | city) runs with
# nburn = N_ITER and with nburn = 10 (both nbetween = 1, nimp = 2,
# output = 0); the marginal cost of one iteration is the difference of their
# CPU times divided by N_ITER - 10. Prints one JSON object: model -> CPU
# milliseconds per iteration.
suppressMessages({
  library(jomo)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = TRUE)
n_iter <- if (length(args)) as.integer(args[1]) else 2000L
data(cldata)
d <- cldata[, c("social", "age", "measure", "city")]
d$social <- factor(d$social, levels = c("1", "2", "3", "4"), ordered = TRUE)
cpu <- function(expr) {
  t <- system.time(expr)
  t[["user.self"]] + t[["sys.self"]]
}
set.seed(1)
run <- function(nburn) jomo.clmm(social ~ age + measure + (1 | city), d, nburn = nburn,
                                 nbetween = 1, nimp = 2, output = 0)
invisible(capture.output(short <- cpu(run(10L))))
invisible(capture.output(long <- cpu(run(n_iter))))
cat(toJSON(list(clmm_intercept = 1000 * (long - short) / (n_iter - 10L)), auto_unbox = TRUE,
           digits = NA))
