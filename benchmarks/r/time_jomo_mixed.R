#!/usr/bin/env Rscript
# Time jomo's two-level substantive-model-compatible samplers per iteration
# on a subset of tldata, for benchmarks/bench_smc_mixed_vs_jomo.py.
#
# Usage: Rscript benchmarks/r/time_jomo_mixed.R N_ITER
#
# The data and models are those of tests/r/make_smc_mixed_fixtures.R
# (jomo.lmer, 1000 rows in 40 cities) and tests/r/make_smc_glmer_fixtures.R
# (jomo.glmer, 999 rows). Each model runs with nburn = N_ITER and with
# nburn = 10 (both nbetween = 1, nimp = 2, output = 0); the marginal cost of
# one iteration is the difference of their CPU times divided by N_ITER - 10.
# Prints one JSON object: model -> CPU milliseconds per iteration.
suppressMessages({
  library(jomo)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = TRUE)
n_iter <- if (length(args)) as.integer(args[1]) else 1000L
data(tldata)
d <- tldata[as.integer(as.character(tldata$city)) < 40,
            c("previous.events", "measure.b", "measure.a", "city")]
d <- do.call(rbind, lapply(split(d, d$city, drop = TRUE), function(x) x[1:25, ]))
d$city <- as.integer(as.character(d$city))
rownames(d) <- NULL
lin <- d[, c("measure.b", "measure.a", "city")]
bin <- d[!is.na(d$previous.events), c("previous.events", "measure.a", "measure.b", "city")]
bin$previous.events <- factor(as.integer(bin$previous.events == "TRUE"))
calls <- list(
  lmer_intercept = function(nburn) jomo.lmer(measure.b ~ measure.a + (1 | city), lin,
    nburn = nburn, nbetween = 1, nimp = 2, output = 0),
  lmer_slope = function(nburn) jomo.lmer(measure.b ~ measure.a + (1 + measure.a | city), lin,
    nburn = nburn, nbetween = 1, nimp = 2, output = 0),
  glmer_intercept = function(nburn) jomo.glmer(
    previous.events ~ measure.a + measure.b + (1 | city), bin,
    nburn = nburn, nbetween = 1, nimp = 2, output = 0))
cpu <- function(expr) {
  t <- system.time(expr)
  t[["user.self"]] + t[["sys.self"]]
}
out <- list()
for (name in names(calls)) {
  set.seed(1)
  invisible(capture.output(short <- cpu(calls[[name]](10L))))
  invisible(capture.output(long <- cpu(calls[[name]](n_iter))))
  out[[name]] <- 1000 * (long - short) / (n_iter - 10L)
}
cat(toJSON(out, auto_unbox = TRUE, digits = NA))
