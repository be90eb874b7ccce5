#!/usr/bin/env Rscript
# Reference fixtures for SubstantiveModelImputer with a mixed logistic
# analysis model: jomo.glmer on a subset of jomo's tldata.
#
# Usage (from the repository root):
#   Rscript tests/r/make_smc_glmer_fixtures.R     # writes tests/fixtures/jomo/smc_glmer_tldata.json
#   Rscript tests/r/make_smc_glmer_fixtures.R --stdout --runs 5   # print the JSON (live-R test)
#
# Data: the first 25 rows of each of the cities 0-39 of tldata (40 clusters),
# less the one row whose binary outcome previous.events is missing (jomo.glmer
# does not impute outcomes): 999 rows, measure.a 22% missing, measure.b and
# previous.events (coded 0/1) complete. The analysis model is
# previous.events ~ measure.a + measure.b + (1 | city). This runs jomo.glmer
# N_RUNS times with different seeds (NIMP imputations each), fits the model
# by glmer (Laplace, lme4's default) to every completed data set and pools
# the fixed effects by Rubin's rules (computed here); the spread of the
# pooled estimates over runs is the Monte Carlo SD of one run's pooled
# estimate. It also stores the glmer fits (Laplace and 9-point adaptive
# Gauss-Hermite quadrature) of the complete cases, which check skjomo's test
# helper that fits the same model in Python (tests/mixed_logit_fit.py).
# The data are stored too, so the Python test needs no R. jomo is used as a
# black box.

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
FORMULA <- previous.events ~ measure.a + measure.b + (1 | city)

data(tldata)
d <- tldata[as.integer(as.character(tldata$city)) < 40,
            c("previous.events", "measure.a", "measure.b", "city")]
d <- do.call(rbind, lapply(split(d, d$city, drop = TRUE), function(x) x[1:25, ]))
d <- d[!is.na(d$previous.events), ]
d$previous.events <- factor(as.integer(d$previous.events == "TRUE"))
d$city <- as.integer(as.character(d$city))
rownames(d) <- NULL

glmer_fit <- function(data, nAGQ = 1L) {
  suppressMessages(glmer(FORMULA, data = data, family = binomial, nAGQ = nAGQ))
}

summarise_fit <- function(f) {
  list(estimate = as.list(fixef(f)), se = as.list(sqrt(diag(as.matrix(vcov(f))))),
       variance = as.numeric(VarCorr(f)$city), loglik = as.numeric(logLik(f)))
}

rubin <- function(fits) {
  est <- sapply(fits, fixef)
  within <- rowMeans(sapply(fits, function(f) diag(as.matrix(vcov(f)))))
  m <- length(fits)
  between <- apply(est, 1, var)
  list(estimate = as.list(rowMeans(est)),
       se = as.list(sqrt(within + (1 + 1 / m) * between)),
       variance = mean(sapply(fits, function(f) as.numeric(VarCorr(f)$city))))
}

run_model <- function(seed) {
  set.seed(seed)
  # jomo.glmer prints a notice on stdout: keep it out of the JSON of --stdout
  invisible(capture.output(
    imp <- jomo.glmer(FORMULA, d, nburn = NBURN, nbetween = NBETWEEN, nimp = NIMP, output = 0)))
  names(imp)[names(imp) == "clus"] <- "city"
  rubin(lapply(seq_len(NIMP), function(k) glmer_fit(imp[imp$Imputation == k, ])))
}

complete <- d[complete.cases(d), ]
out <- list(
  data = transform(d, previous.events = as.integer(as.character(previous.events))),
  settings = list(n_runs = N_RUNS, nimp = NIMP, nburn = NBURN, nbetween = NBETWEEN),
  versions = list(R = paste(R.version$major, R.version$minor, sep = "."),
                  jomo = as.character(packageVersion("jomo")),
                  lme4 = as.character(packageVersion("lme4"))),
  complete_cases = list(laplace = summarise_fit(glmer_fit(complete, 1L)),
                        agq9 = summarise_fit(glmer_fit(complete, 9L))),
  models = list())
t0 <- proc.time()[["elapsed"]]
runs <- suppressMessages(lapply(seq_len(N_RUNS), function(r) run_model(3000L + r)))
message(sprintf("glmer_intercept: %d runs in %.1f s", N_RUNS, proc.time()[["elapsed"]] - t0))
out$models$glmer_intercept <- list(
  description = paste("jomo.glmer(previous.events ~ measure.a + measure.b + (1 | city)),",
                      "measure.a 22% missing"),
  formula = deparse(FORMULA), runs = runs)

json <- toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", pretty = TRUE)
if ("--stdout" %in% ARGS) {
  cat(json)
} else {
  args <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", args[grep("^--file=", args)])
  root <- normalizePath(file.path(dirname(normalizePath(f)), "..", ".."))
  writeLines(json, file.path(root, "tests", "fixtures", "jomo", "smc_glmer_tldata.json"))
}
