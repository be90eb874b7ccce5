#!/usr/bin/env Rscript
# Reference fixtures for SubstantiveModelImputer(model="ordinal") with a
# random-effects term: jomo.clmm on jomo's cldata.
#
# Usage (from the repository root):
#   Rscript tests/r/make_smc_clmm_fixtures.R      # writes tests/fixtures/jomo/smc_clmm_cldata.json
#   Rscript tests/r/make_smc_clmm_fixtures.R --stdout --runs 3   # print the JSON (live-R test)
#   Rscript tests/r/make_smc_clmm_fixtures.R --fit IMPS.csv      # pool clmm fits of stacked
#                                                                # imputations, print the JSON
#
# Data: cldata (1000 rows, 10 cities of 100; social: 4 ordered categories,
# 57 missing; measure: 321 missing; age complete). The model is jomo's own
# example, social ~ age + measure + (1 | city). For every run this calls
# jomo.clmm (NIMP imputations), fits the cumulative-logit mixed model with
# ordinal::clmm (link "logit", Laplace approximation, the defaults but the
# link) to every completed data set and pools coefficients and cut-points by
# Rubin's rules (pooled estimate, total-variance SE); the random-intercept
# variance is averaged. The spread of the pooled estimates over N_RUNS runs is
# the Monte Carlo SD of one run's pooled estimate. jomo.clmm's own analysis
# model is a cumulative *probit* mixed model (it reports a residual variance
# fixed at 1); the analysis here is the logit clmm the user fits afterwards,
# the same for both packages' imputations (doc/smc.rst). "check" holds the
# first completed data set of the first run and its clmm fit, against which
# the Python test checks its own Laplace fit. --fit reads skjomo's imputations
# (columns social, age, measure, city, Imputation = 1..m) and pools the same
# clmm fits, for the live-R test. jomo is used as a black box.

suppressMessages({
  library(jomo)
  library(ordinal)
  library(jsonlite)
})
RNGkind("Mersenne-Twister", "Inversion", "Rejection")

ARGS <- commandArgs(trailingOnly = TRUE)
N_RUNS <- if ("--runs" %in% ARGS) as.integer(ARGS[which(ARGS == "--runs") + 1L]) else 10L
NIMP <- 20L
NBURN <- 1000L
NBETWEEN <- 100L
FORMULA <- "social ~ age + measure + (1 | city)"

data(cldata)
d <- cldata[, c("social", "age", "measure", "city")]
d$social <- factor(d$social, levels = c("1", "2", "3", "4"), ordered = TRUE)

fit_clmm <- function(completed) {
  completed$social <- factor(completed$social, levels = c("1", "2", "3", "4"), ordered = TRUE)
  completed$city <- factor(completed$city)
  clmm(as.formula(FORMULA), data = completed, link = "logit")
}

rubin <- function(fits) {
  est <- sapply(fits, coef)
  within <- rowMeans(sapply(fits, function(f) diag(vcov(f))[names(coef(f))]))
  m <- length(fits)
  between <- apply(est, 1, var)
  list(estimate = as.list(rowMeans(est)),
       se = as.list(sqrt(within + (1 + 1 / m) * between)),
       variance = mean(sapply(fits, function(f) f$ST[[1]][1, 1]^2)))
}

run_jomo <- function(seed) {
  set.seed(seed)
  # jomo.clmm prints a notice on standard output even with output = 0: keep
  # standard output for the JSON
  invisible(capture.output(
    imp <- jomo.clmm(as.formula(FORMULA), d, nburn = NBURN, nbetween = NBETWEEN,
                     nimp = NIMP, output = 0)))
  names(imp)[names(imp) == "clus"] <- "city"
  lapply(seq_len(NIMP), function(k) imp[imp$Imputation == k, c("social", "age", "measure", "city")])
}

emit <- function(out, file) {
  json <- toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", pretty = TRUE)
  if (is.null(file)) {
    cat(json)
  } else {
    args <- commandArgs(trailingOnly = FALSE)
    f <- sub("^--file=", "", args[grep("^--file=", args)])
    root <- normalizePath(file.path(dirname(normalizePath(f)), "..", ".."))
    writeLines(json, file.path(root, "tests", "fixtures", "jomo", file))
  }
}

if ("--fit" %in% ARGS) {
  stacked <- read.csv(ARGS[which(ARGS == "--fit") + 1L])
  fits <- lapply(split(stacked, stacked$Imputation), fit_clmm)
  emit(rubin(fits), NULL)
  quit(save = "no")
}

t0 <- proc.time()[["elapsed"]]
runs <- list()
check <- NULL
for (r in seq_len(N_RUNS)) {
  completed <- run_jomo(2000L + r)
  fits <- lapply(completed, fit_clmm)
  runs[[r]] <- rubin(fits)
  if (r == 1L) {
    first <- completed[[1]]
    first$social <- as.integer(as.character(first$social))
    check <- list(data = first, estimate = as.list(coef(fits[[1]])),
                  cov = unname(vcov(fits[[1]])[names(coef(fits[[1]])), names(coef(fits[[1]]))]),
                  variance = fits[[1]]$ST[[1]][1, 1]^2, loglik = as.numeric(logLik(fits[[1]])))
  }
}
elapsed <- proc.time()[["elapsed"]] - t0
message(sprintf("%d runs in %.1f s", N_RUNS, elapsed))

out <- list(
  data = within(d, social <- as.integer(as.character(social))),
  formula = FORMULA,
  settings = list(n_runs = N_RUNS, nimp = NIMP, nburn = NBURN, nbetween = NBETWEEN),
  versions = list(R = paste(R.version$major, R.version$minor, sep = "."),
                  jomo = as.character(packageVersion("jomo")),
                  ordinal = as.character(packageVersion("ordinal"))),
  runs = runs,
  check = check)
emit(out, if ("--stdout" %in% ARGS) NULL else "smc_clmm_cldata.json")
