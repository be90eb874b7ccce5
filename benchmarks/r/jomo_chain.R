#!/usr/bin/env Rscript
# Write jomo's level-1 covariance chain of a fixture model to CSV, for the
# effective-sample-size-per-second comparison of benchmarks/bench_vs_jomo.py.
#
# Usage: Rscript benchmarks/r/jomo_chain.R MODEL N_ITER OUT.csv
# Output: one row per iteration, one column per covariance element
# (column-major), plus a first line "# seconds=<wall-clock seconds>".

suppressPackageStartupMessages(library(jomo))

local({
  args <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", args[grep("^--file=", args)])
  here <- if (length(f) == 1L) dirname(normalizePath(f)) else file.path("benchmarks", "r")
  root <- normalizePath(file.path(here, "..", ".."))
  source(file.path(root, "tests", "r", "fixture_helpers.R"), local = globalenv())
  source(file.path(root, "tests", "r", "make_jomo_fixtures.R"), local = globalenv())
})

args <- commandArgs(trailingOnly = TRUE)
spec <- models[[args[1]]]()
n <- as.integer(args[2])
set.seed(4242)
seconds <- system.time(
  utils::capture.output(fit <- do.call(jomo::jomo.MCMCchain, c(jomo_args(spec), list(nburn = n))))
)[["elapsed"]]
omega <- fit$collectomega
draws <- t(matrix(omega, nrow = dim(omega)[1] * dim(omega)[2]))
con <- file(args[3], "w")
writeLines(sprintf("# seconds=%.6f", seconds), con)
utils::write.table(draws, con, sep = ",", row.names = FALSE, col.names = FALSE)
close(con)
