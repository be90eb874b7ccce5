# Fixtures for skjomo's mitml-compatible chain diagnostics (tests/test_diagnostics.py).
#
# mitml is used as a black box: the internal functions are called by name
# (found with ls(getNamespace("mitml"))), their source is not read.
#
#   .GelmanRubin(x, m)                 single-chain Rhat with m segments  (spec section 4.2)
#   .reducedACF(x, lag, smooth, sd)    (smoothed) autocorrelation at a lag (section 4.4)
#   .movingAverage(x, B)               centred moving average of the trace plot (section 4.5)
#
# Run from the repository root:  Rscript tests/r/mitml_rhat.R
# Writes tests/fixtures/mitml_rhat/{chains.csv, rhat.csv, acf.csv, movavg.csv, info.txt}.
# All numbers are written with sprintf("%.17g") so they read back exactly.

suppressPackageStartupMessages(library(mitml))
ns <- getNamespace("mitml")
gelman_rubin <- get(".GelmanRubin", ns)
reduced_acf <- get(".reducedACF", ns)
moving_average <- get(".movingAverage", ns)

args <- commandArgs(trailingOnly = TRUE)
out_dir <- if (length(args) >= 1) args[1] else file.path("tests", "fixtures", "mitml_rhat")
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)

fmt <- function(v) {
  s <- sprintf("%.17g", v)
  s[is.na(v) & !is.nan(v)] <- "NA"
  s[is.nan(v)] <- "NaN"
  s
}

ar1 <- function(n, phi, mu = 0, sd = 1) {
  x <- numeric(n)
  x[1] <- rnorm(1, mu, sd / sqrt(1 - phi^2))
  for (t in 2:n) x[t] <- mu + phi * (x[t - 1] - mu) + rnorm(1, 0, sd)
  x
}

set.seed(20240611)
t100 <- 1:100
chains <- list(
  spec93 = sin(0.1 * t100) + 0.01 * t100,          # the chain of spec section 9.3
  ar1_phi0_n60 = ar1(60, 0),
  ar1_phi05_n101 = ar1(101, 0.5, mu = 2),
  ar1_phi09_n250 = ar1(250, 0.9, mu = -1, sd = 0.3),
  ar1_phi099_n500 = ar1(500, 0.99),
  ar1_phi07_n37 = ar1(37, 0.7, mu = 10),
  trend_n64 = 0.05 * (1:64) + rnorm(64),
  constant_n30 = rep(2.5, 30),                      # constant trace: Rhat = 1
  steps_n9 = c(1, 1, 1, 2, 2, 2, 3, 3, 3),          # W = 0, B > 0: Rhat = Inf
  nan_used_n10 = c(1:4, NA, 6:10),                  # NA in a used segment: NA
  nan_dropped_n10 = c(1:9, NA)                      # NA only in the dropped tail (S = 3)
)

long <- do.call(rbind, lapply(names(chains), function(nm) {
  data.frame(chain = nm, t = seq_along(chains[[nm]]), value = fmt(chains[[nm]]))
}))
write.csv(long, file.path(out_dir, "chains.csv"), row.names = FALSE, quote = FALSE)

rh <- do.call(rbind, lapply(names(chains), function(nm) {
  do.call(rbind, lapply(2:5, function(S) {
    x <- chains[[nm]]
    if (floor(length(x) / S) < 2) return(NULL)
    data.frame(chain = nm, n_segments = S, rhat = fmt(gelman_rubin(x, S)))
  }))
}))
write.csv(rh, file.path(out_dir, "rhat.csv"), row.names = FALSE, quote = FALSE)

acf_chains <- c("spec93", "ar1_phi05_n101", "ar1_phi09_n250", "ar1_phi099_n500", "trend_n64")
ac <- do.call(rbind, lapply(acf_chains, function(nm) {
  x <- chains[[nm]]
  grid <- expand.grid(lag = c(1, 2, 3, 5, 10, 20), smooth = c(0, 1, 2, 3))
  grid <- grid[grid$lag - grid$smooth >= 0 & grid$lag + grid$smooth < length(x), ]
  vals <- mapply(function(l, s) reduced_acf(x, l, smooth = s), grid$lag, grid$smooth)
  data.frame(chain = nm, lag = grid$lag, smooth = grid$smooth, acf = fmt(vals))
}))
write.csv(ac, file.path(out_dir, "acf.csv"), row.names = FALSE, quote = FALSE)

ma <- do.call(rbind, lapply(c("spec93", "ar1_phi09_n250", "ar1_phi07_n37"), function(nm) {
  x <- chains[[nm]]
  do.call(rbind, lapply(c(1, 2, 5), function(B) {
    data.frame(chain = nm, half_width = B, t = seq_along(x), value = fmt(moving_average(x, B)))
  }))
}))
write.csv(ma, file.path(out_dir, "movavg.csv"), row.names = FALSE, quote = FALSE)

writeLines(c(
  sprintf("R %s, mitml %s", getRversion(), packageVersion("mitml")),
  "made by tests/r/mitml_rhat.R (seed 20240611)"
), file.path(out_dir, "info.txt"))
