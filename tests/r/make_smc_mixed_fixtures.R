#!/usr/bin/env Rscript
# Reference fixtures for SubstantiveModelImputer with a two-level analysis
# model: jomo.lmer on a subset of jomo's tldata.
#
# Usage (from the repository root):
#   Rscript tests/r/make_smc_mixed_fixtures.R      # writes tests/fixtures/jomo/smc_tldata.json
#   Rscript tests/r/make_smc_mixed_fixtures.R --stdout --runs 5   # print the JSON (live-R test)
#
# Data: the first 25 rows of each of the cities 0-39 of tldata (1000 rows,
# 40 clusters; measure.a 22% missing, measure.b complete). For every model
# this runs jomo.lmer N_RUNS times with different seeds (NIMP imputations
# each), fits the analysis model by lmer (REML) to every completed data set
# and pools the fixed effects by Rubin's rules (computed here). The spread of
# the pooled estimates over runs is the Monte Carlo SD of one run's pooled
# estimate. The data are stored too, so the Python test needs no R. jomo is
# used as a black box.

suppressMessages({
  library(jomo)
  library(lme4)
  library(jsonlite)
})
RNGkind("Mersenne-Twister", "Inversion", "Rejection")

ARGS <- commandArgs(trailingOnly = TRUE)
N_RUNS <- if ("--runs" %in% ARGS) as.integer(ARGS[which(ARGS == "--runs") + 1L]) else 10L
NIMP <- 20L
NBURN <- 1000L
NBETWEEN <- 100L

data(tldata)
d <- tldata[as.integer(as.character(tldata$city)) < 40, c("measure.b", "measure.a", "city")]
d <- do.call(rbind, lapply(split(d, d$city, drop = TRUE), function(x) x[1:25, ]))
d$city <- as.integer(as.character(d$city))
rownames(d) <- NULL

rubin <- function(fits) {
  est <- sapply(fits, fixef)
  within <- rowMeans(sapply(fits, function(f) diag(as.matrix(vcov(f)))))
  m <- length(fits)
  between <- apply(est, 1, var)
  list(estimate = as.list(rowMeans(est)),
       se = as.list(sqrt(within + (1 + 1 / m) * between)))
}

run_model <- function(formula, seed) {
  set.seed(seed)
  imp <- jomo.lmer(formula, d, nburn = NBURN, nbetween = NBETWEEN, nimp = NIMP, output = 0)
  names(imp)[names(imp) == "clus"] <- "city"
  fits <- lapply(seq_len(NIMP), function(k)
    suppressMessages(lmer(formula, data = imp[imp$Imputation == k, ], REML = TRUE)))
  rubin(fits)
}

models <- list(
  lmer_intercept = list(
    description = "jomo.lmer(measure.b ~ measure.a + (1 | city)), measure.a 22% missing",
    formula = "measure.b ~ measure.a + (1 | city)"),
  lmer_slope = list(
    description = paste("jomo.lmer(measure.b ~ measure.a + (1 + measure.a | city)):",
                        "random slope of the partially observed measure.a"),
    formula = "measure.b ~ measure.a + (1 + measure.a | city)")
)

out <- list(
  data = d,
  settings = list(n_runs = N_RUNS, nimp = NIMP, nburn = NBURN, nbetween = NBETWEEN),
  versions = list(R = paste(R.version$major, R.version$minor, sep = "."),
                  jomo = as.character(packageVersion("jomo")),
                  lme4 = as.character(packageVersion("lme4"))),
  models = list())
for (name in names(models)) {
  spec <- models[[name]]
  t0 <- proc.time()[["elapsed"]]
  runs <- lapply(seq_len(N_RUNS), function(r) run_model(as.formula(spec$formula), 2000L + r))
  elapsed <- proc.time()[["elapsed"]] - t0
  message(sprintf("%s: %d runs in %.1f s", name, N_RUNS, elapsed))
  out$models[[name]] <- list(description = spec$description, formula = spec$formula,
                             runs = runs)
}

json <- toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", pretty = TRUE)
if ("--stdout" %in% ARGS) {
  cat(json)
} else {
  args <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", args[grep("^--file=", args)])
  root <- normalizePath(file.path(dirname(normalizePath(f)), "..", ".."))
  writeLines(json, file.path(root, "tests", "fixtures", "jomo", "smc_tldata.json"))
}
