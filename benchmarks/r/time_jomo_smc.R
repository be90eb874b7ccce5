#!/usr/bin/env Rscript
# Time jomo's substantive-model-compatible samplers per iteration on sldata,
# for benchmarks/bench_smc_vs_jomo.py.
#
# Usage: Rscript benchmarks/r/time_jomo_smc.R N_ITER [REPEATS]
#
# For each model, jomo.lm / jomo.glm / jomo.polr runs with nburn = N_ITER and
# with nburn = 10 (both nbetween = 1, nimp = 2, output = 0); the marginal cost
# of one iteration is the difference of their CPU times divided by
# N_ITER - 10 (R's start-up and jomo's set-up cancel), the median over
# REPEATS (default 1) such pairs. Prints one JSON object: model -> CPU
# milliseconds per iteration.
suppressMessages({
  library(jomo)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = TRUE)
n_iter <- if (length(args)) as.integer(args[1]) else 2000L
repeats <- if (length(args) > 1) as.integer(args[2]) else 1L
data(sldata)
sl_factor <- within(sldata[, c("measure", "age", "social")], social <- factor(social))
sl_numeric <- sldata[, c("measure", "age", "social")]
sl_sex <- within(sldata[, c("measure", "age", "sex")], sex <- factor(sex))
sl_ordered <- within(sldata[, c("social", "age", "measure")], social <- factor(social, ordered = TRUE))
calls <- list(
  lm_interaction_factor = function(nburn) jomo.lm(measure ~ age * social, sl_factor,
    nburn = nburn, nbetween = 1, nimp = 2, output = 0),
  lm_quadratic_numeric = function(nburn) jomo.lm(measure ~ age * social + I(age^2),
    sl_numeric, nburn = nburn, nbetween = 1, nimp = 2, output = 0),
  glm_binary = function(nburn) jomo.glm(sex ~ age + measure, sl_sex, family = "binomial",
    nburn = nburn, nbetween = 1, nimp = 2, output = 0),
  polr_ordinal = function(nburn) jomo.polr(social ~ age + measure, sl_ordered,
    nburn = nburn, nbetween = 1, nimp = 2, output = 0))
cpu <- function(expr) {
  t <- system.time(expr)
  t[["user.self"]] + t[["sys.self"]]
}
out <- list()
for (name in names(calls)) {
  set.seed(1)
  marginal <- replicate(repeats, {
    invisible(capture.output(short <- cpu(calls[[name]](10L))))
    invisible(capture.output(long <- cpu(calls[[name]](n_iter))))
    1000 * (long - short) / (n_iter - 10L)
  })
  out[[name]] <- median(marginal)
}
cat(toJSON(out, auto_unbox = TRUE, digits = NA))
