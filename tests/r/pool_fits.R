#!/usr/bin/env Rscript
# Pool an analysis model over multiply imputed data with mitml, for tests
# marked `rjomo` that want R's answer for imputations made by skjomo.
#
# Usage:
#   Rscript tests/r/pool_fits.R --data=IMPS.csv --formula="english ~ ravens + sex" \
#       [--fun=lm|lmer] [--factors=fluent,school] [--levels=fluent:0|1|2] \
#       [--imputation-col=Imputation] [--df-com=N] [--out=result.json]
#
# IMPS.csv holds the completed data sets stacked, with an imputation index
# column (default "Imputation"; rows with index 0, the original data, are
# dropped). Columns named in --factors are converted to factors; --levels
# fixes the level order of a factor (reference level first for treatment
# contrasts), several separated by ";". lmer fits use REML and are pooled with
# extra.pars = TRUE. The result is the "pooled" block of the fixture schema
# (tests/r/README.md), written to --out or printed on stdout.

local({
  args <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", args[grep("^--file=", args)])
  here <- if (length(f) == 1L) dirname(normalizePath(f)) else file.path("tests", "r")
  source(file.path(here, "fixture_helpers.R"))
})

parse_opts <- function(args) {
  opts <- list(fun = "lm", factors = "", levels = "", imputation_col = "Imputation",
               df_com = NULL, out = NULL)
  for (a in args) {
    if (!grepl("^--", a)) stop("unexpected argument: ", a)
    kv <- strsplit(sub("^--", "", a), "=", fixed = TRUE)[[1]]
    opts[[gsub("-", "_", kv[1])]] <- paste(kv[-1], collapse = "=")
  }
  if (is.null(opts$data) || is.null(opts$formula)) stop("--data and --formula are required")
  opts
}

main <- function() {
  opts <- parse_opts(commandArgs(trailingOnly = TRUE))
  d <- utils::read.csv(opts$data, na.strings = c("", "NA"))
  lev <- list()
  if (nzchar(opts$levels)) {
    for (item in strsplit(opts$levels, ";", fixed = TRUE)[[1]]) {
      kv <- strsplit(item, ":", fixed = TRUE)[[1]]
      lev[[kv[1]]] <- strsplit(kv[2], "|", fixed = TRUE)[[1]]
    }
  }
  facs <- if (nzchar(opts$factors)) strsplit(opts$factors, ",", fixed = TRUE)[[1]] else character(0)
  for (v in union(facs, names(lev))) {
    d[[v]] <- if (!is.null(lev[[v]])) factor(d[[v]], levels = lev[[v]]) else factor(d[[v]])
  }
  ic <- opts$imputation_col
  d <- d[d[[ic]] != 0, , drop = FALSE]
  fml <- stats::as.formula(opts$formula)
  dats <- split(d, d[[ic]])
  fits <- lapply(dats, function(x) {
    if (opts$fun == "lmer") lme4::lmer(fml, data = x, REML = TRUE) else stats::lm(fml, data = x)
  })
  names(fits) <- NULL
  df.com <- if (is.null(opts$df_com)) NULL else as.numeric(opts$df_com)
  res <- pool_fits(fits, extra = opts$fun == "lmer", df.com = df.com)
  res$formula <- opts$formula
  res$fun <- opts$fun
  txt <- jsonlite::toJSON(res, auto_unbox = TRUE, digits = NA, null = "null", pretty = TRUE)
  if (is.null(opts$out)) cat(txt, "\n") else writeLines(txt, opts$out)
}

main()
