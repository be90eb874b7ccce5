#!/usr/bin/env Rscript
# jomo fixtures for HeteroscedasticMultilevelImputer (issue 4) on data where
# jomo's cluster-specific-covariance samplers are right, plus one run that
# shows the effect of jomo's pattern-cache bug.
#
# Usage (from anywhere):
#   Rscript tests/r/make_hr_fixtures.R                       # all fixtures
#   Rscript tests/r/make_hr_fixtures.R jsp_hr_fixed_jomoright  # some fixtures
#   Rscript tests/r/make_hr_fixtures.R --list
#
# Why a derived data set. jomo's hr samplers (jomo1ranconhr & co., 2.7-x)
# build the conditional distributions of the missing values once per
# missingness pattern from the covariance of the *first* cluster (in data
# order) that has the pattern, and use them for the rows of every cluster
# (jomo-samplers.md §6.5). They also assume rows grouped by cluster in
# sorted-label order (§8). On JSPmiss both assumptions matter, so jomo's
# numbers are not the posterior of its own model there. The derived data
# "jsp_hr_jomoright" keeps
#   * every complete row of JSPmiss (english and ravens both observed), and
#   * the incomplete rows of three schools only, one pattern per school:
#     missing english in school 31, missing ravens in school 48, both missing
#     in school 42 (for each pattern the school with the most rows having it,
#     three different schools),
# sorted by school (then by id). Each pattern then occurs in a single school,
# so the first cluster with a pattern is the only cluster with it and the
# cache holds the right covariance. The rows are written to
# tests/fixtures/jomo/jsp_hr_jomoright.csv so Python uses exactly them.
#
# Fixtures (tests/fixtures/jomo/<name>.json, schema of make_jomo_fixtures.R):
#   jsp_hr_fixed_jomoright   meth = "fixed"
#   jsp_hr_random_jomoright  meth = "random", a = 52 (= p + 50) passed explicitly
#   jsp_hr_fixed_relabelled  full JSPmiss, meth = "fixed", school 49 relabelled 0
#                            (so it sorts first): same data as jsp_hr_fixed up to
#                            the cluster labels; jomo's answer changes because the
#                            pattern cache now uses school 49's covariance.
#
# For each: jomo() with nimp = 100 (nburn 2000, nbetween 200) pooled with
# mitml::testEstimates over lmer(english ~ ravens + sex + (1 | school)), and a
# posterior chain of 32000 iterations (first 2000 discarded) with batch-means
# Monte Carlo errors. The "random" chain is run as 320 consecutive
# jomo.MCMCchain() calls of 100 iterations, each started from the final state
# of the previous one (fixed and random effects, covariances, imputations and
# a): jomo does not return its draws of a, but it writes the final a into the
# R vector passed as `a` (a black-box observation), so the chain in pieces
# gives a draw of a every 100 iterations. The state (B, U, Sigma_u, Omega_j,
# missing values, a) is the whole state of jomo's sampler: A is drawn afresh
# from a and the Omega_j at every iteration.
#
# Black-box use only: jomo, mitml and lme4 are called through their R
# interfaces. Reproducible: no dates or timings in the JSON (timings on stdout).

if (!exists("load_jspmiss", mode = "function")) local({
  args <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", args[grep("^--file=", args)])
  here <- if (length(f) == 1L) dirname(normalizePath(f)) else file.path("tests", "r")
  source(file.path(here, "fixture_helpers.R"))
})

RNGkind("Mersenne-Twister", "Inversion", "Rejection")

if (!exists("ROOT")) ROOT <- repo_root(script_dir())
OUT_DIR <- file.path(ROOT, "tests", "fixtures", "jomo")
DATA_CSV <- "jsp_hr_jomoright.csv"

NIMP <- 100L
N_BATCHES <- 50L
CHUNK <- 100L

# Pattern -> the one school that keeps its incomplete rows.
KEEP_PATTERN <- c(english = "31", ravens = "48", "english+ravens" = "42")
RELABEL_FROM <- "49"  # strong english-ravens correlation; has all three patterns

# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------

pattern_of <- function(d) {
  me <- is.na(d$english)
  mr <- is.na(d$ravens)
  ifelse(me & mr, "english+ravens", ifelse(me, "english", ifelse(mr, "ravens", "complete")))
}

jomoright_data <- function() {
  d <- load_jspmiss(ROOT)
  pat <- pattern_of(d)
  keep <- pat == "complete"
  for (p in names(KEEP_PATTERN)) keep <- keep | (pat == p & as.character(d$school) == KEEP_PATTERN[[p]])
  d <- d[keep, ]
  d <- d[order(d$school, as.integer(as.character(d$id))), ]
  out <- data.frame(school = as.integer(as.character(d$school)),
                    id = as.integer(as.character(d$id)),
                    sex = d$sex, ravens = d$ravens, english = d$english)
  write.csv(out, file.path(OUT_DIR, DATA_CSV), row.names = FALSE, na = "")
  d$school <- droplevels(d$school)
  rownames(d) <- NULL
  d
}

relabelled_data <- function() {
  d <- load_jspmiss(ROOT)
  lab <- as.integer(as.character(d$school))
  lab[lab == as.integer(RELABEL_FROM)] <- 0L
  d$school <- numeric_factor(lab)
  d <- d[order(d$school), ]
  rownames(d) <- NULL
  d
}

# ---------------------------------------------------------------------------
# Specs
# ---------------------------------------------------------------------------

spec_for <- function(name) {
  base <- list(
    Y_names = c("english", "ravens"), X_names = c("cons", "sex"),
    nburn = 2000L, nbetween = 200L, seed = 1569L,
    chain_nburn = 32000L, chain_discard = 2000L, chain_seed = 2569L,
    formula = english ~ ravens + sex + (1 | school)
  )
  if (name == "jsp_hr_fixed_jomoright" || name == "jsp_hr_random_jomoright") {
    meth <- sub("^jsp_hr_(fixed|random)_jomoright$", "\\1", name)
    d <- jomoright_data()
    c(base, list(
      d = d, meth = meth, a = if (meth == "random") 52 else NULL,
      data = list(
        name = "JSPmiss, derived (jomo's pattern cache cannot act)", file = DATA_CSV,
        source_file = "JSPmiss.csv", n_rows = nrow(d),
        row_order = "sorted by school, then id",
        derivation = paste(
          "All complete rows of JSPmiss (english and ravens observed) plus the incomplete rows",
          "of three schools, one missingness pattern each: missing english only in school 31,",
          "missing ravens only in school 48, both missing in school 42 (for each pattern the",
          "school with most such rows). Other incomplete rows are dropped. Columns: school, id,",
          "sex, ravens, english (cons = 1 is added for jomo)."),
        patterns = lapply(split(as.character(d$school), pattern_of(d)),
                          function(s) arr(sort(unique(as.integer(s)))))),
      description = paste0(
        "Two-level joint model with cluster-specific level-1 covariances (jomo1ranconhr, meth = \"",
        meth, "\") on a JSPmiss subset where each missingness pattern occurs in one school",
        " only, rows sorted by school", if (meth == "random") "; a = 52 (= p + 50) passed explicitly." else ".")
    ))
  } else if (name == "jsp_hr_fixed_relabelled") {
    d <- relabelled_data()
    c(base, list(
      d = d, meth = "fixed", a = NULL,
      data = list(
        name = "JSPmiss, school 49 relabelled 0", file = "JSPmiss.csv", n_rows = nrow(d),
        row_order = "sorted by the new school labels (stable)",
        derivation = paste(
          "JSPmiss with the label of school 49 changed to 0 so that it sorts first; otherwise",
          "identical to the data of jsp_hr_fixed (same rows, same clusters).")),
      description = paste(
        "As jsp_hr_fixed (jomo1ranconhr, meth = \"fixed\", full JSPmiss), with school 49",
        "relabelled 0: jomo's pattern cache then imputes every cluster's missing values",
        "with school 49's covariance instead of school 1's / school 2's.")
    ))
  } else {
    stop("unknown fixture ", name)
  }
}

FIXTURES <- c("jsp_hr_fixed_jomoright", "jsp_hr_random_jomoright", "jsp_hr_fixed_relabelled")

# ---------------------------------------------------------------------------
# Running jomo
# ---------------------------------------------------------------------------

# jomo's dispatchers print the chosen worker even with output = 0.
quiet <- function(expr) invisible(utils::capture.output(expr))

jomo_args <- function(spec) {
  d <- spec$d
  list(Y = d[, spec$Y_names], X = d[, spec$X_names], clus = d$school,
       meth = spec$meth, output = 0)
}

run_imputation <- function(spec) {
  set.seed(spec$seed)
  args <- jomo_args(spec)
  # jomo writes the final a into the vector passed: hand it a fresh copy.
  a_vec <- if (is.null(spec$a)) NULL else spec$a + 0
  if (!is.null(a_vec)) args$a <- a_vec
  t0 <- proc.time()[["elapsed"]]
  quiet(imp <- do.call(jomo::jomo, c(args, list(nburn = spec$nburn, nbetween = spec$nbetween,
                                                nimp = NIMP))))
  secs <- proc.time()[["elapsed"]] - t0
  dats <- lapply(completed_list(imp), function(x) {
    x$school <- x$clus
    x
  })
  fits <- lapply(dats, function(x) lme4::lmer(spec$formula, data = x, REML = TRUE))
  list(pooled = pool_fits(fits, extra = TRUE), seconds = secs,
       coef_names = names(lme4::fixef(fits[[1]])),
       final_a = if (is.null(a_vec)) NULL else a_vec[1])
}

last_slice <- function(a) {
  dm <- dim(a)
  m <- a[, , dm[3], drop = TRUE]
  if (is.null(dim(m))) m <- matrix(m, nrow = dm[1], ncol = dm[2])
  m
}

bind3 <- function(x, y) {
  if (is.null(x)) return(y)
  out <- array(0, dim = c(dim(x)[1:2], dim(x)[3] + dim(y)[3]), dimnames = dimnames(x))
  out[, , seq_len(dim(x)[3])] <- x
  out[, , dim(x)[3] + seq_len(dim(y)[3])] <- y
  out
}

# One long chain ("fixed"), or consecutive pieces recording a ("random").
run_chain <- function(spec) {
  set.seed(spec$chain_seed)
  args <- jomo_args(spec)
  t0 <- proc.time()[["elapsed"]]
  if (is.null(spec$a)) {
    quiet(ch <- do.call(jomo::jomo.MCMCchain, c(args, list(nburn = spec$chain_nburn))))
    return(list(chain = ch, a = NULL, seconds = proc.time()[["elapsed"]] - t0))
  }
  n_chunks <- spec$chain_nburn %/% CHUNK
  a_vec <- spec$a + 0
  a_draws <- numeric(n_chunks)
  acc <- list(collectbeta = NULL, collectomega = NULL, collectu = NULL, collectcovu = NULL)
  start <- list()
  for (k in seq_len(n_chunks)) {
    quiet(ch <- do.call(jomo::jomo.MCMCchain, c(args, start, list(a = a_vec, nburn = CHUNK))))
    a_draws[k] <- a_vec[1]
    for (nm in names(acc)) acc[[nm]] <- bind3(acc[[nm]], ch[[nm]])
    fin <- ch$finimp[ch$finimp$Imputation == 1, spec$Y_names]
    start <- list(beta.start = last_slice(ch$collectbeta),
                  u.start = last_slice(ch$collectu),
                  l1cov.start = last_slice(ch$collectomega),
                  l2cov.start = last_slice(ch$collectcovu),
                  start.imp = as.matrix(fin))
  }
  list(chain = acc, a = a_draws, seconds = proc.time()[["elapsed"]] - t0)
}

summarise_chain <- function(spec, ch, a_draws) {
  disc <- spec$chain_discard
  post <- list(seed = spec$chain_seed, nburn = spec$chain_nburn, discarded = disc,
               n_draws = spec$chain_nburn - disc, n_batches = N_BATCHES,
               worker = paste0("jomo1ranconhr.MCMCchain.", spec$meth))
  if (!is.null(a_draws)) post$chunks <- list(
    size = CHUNK, n = length(a_draws),
    note = "the chain was run in consecutive jomo.MCMCchain calls of this many iterations")
  post$beta <- summarise_draws(ch$collectbeta, disc, N_BATCHES)
  post$l1cov <- summarise_draws(ch$collectomega, disc, N_BATCHES)
  # Average of the cluster covariances, per draw.
  om <- ch$collectomega
  p <- dim(om)[2]
  J <- dim(om)[1] %/% p
  avg <- array(0, dim = c(p, p, dim(om)[3]), dimnames = list(dimnames(om)[[2]], dimnames(om)[[2]], NULL))
  for (j in seq_len(J)) avg <- avg + om[(j - 1) * p + seq_len(p), , , drop = FALSE]
  avg <- avg / J
  post$l1cov_average <- summarise_draws(avg, disc, N_BATCHES)
  post$l2cov <- summarise_draws(ch$collectcovu, disc, N_BATCHES)
  post$u <- summarise_draws(ch$collectu, disc, N_BATCHES)
  if (!is.null(a_draws)) {
    keep <- a_draws[(disc %/% CHUNK + 1):length(a_draws)]
    nb <- min(25L, length(keep) %/% 2L)
    post$a <- list(
      thinning = CHUNK, n_draws = length(keep), n_batches = nb,
      mean = mean(keep), sd = stats::sd(keep), mcse = batch_means_se(keep, nb),
      quantiles = list(probs = arr(c(0.025, 0.25, 0.5, 0.75, 0.975)),
                       values = arr(unname(stats::quantile(keep, c(0.025, 0.25, 0.5, 0.75, 0.975))))),
      lag1_acf = stats::acf(keep, lag.max = 1, plot = FALSE)$acf[2],
      draws = arr(keep)
    )
  }
  arrays <- ch[c("collectbeta", "collectomega", "collectcovu")]
  post$autocorrelation <- max_abs_acf(arrays, disc, lags = c(1L, spec$nbetween))
  post
}

notes_for <- function(name, spec, imp) {
  common <- paste(
    "jomo's hr samplers impute the missing values of every cluster with the covariance of the",
    "first cluster (in data order) having the same missingness pattern (jomo-samplers.md",
    "section 6.5, verified black-box for jomo 2.7.4) and assume rows sorted by cluster label.")
  out <- character(0)
  if (grepl("jomoright", name)) {
    out <- c(out, paste(common, "Here every pattern occurs in one school only and rows are",
                        "sorted by school, so neither defect acts."))
  } else {
    out <- c(out, paste(common, "In jsp_hr_fixed (original labels) the cache uses school 1",
                        "(english-ravens correlation about 0.1) for missing english and for",
                        "missing ravens and school 2 for both missing; here school 49 (label 0,",
                        "correlation about 0.8) is first for all three patterns. The two",
                        "fixtures are the same data and the same model; the difference between",
                        "their pooled estimates is the effect of the pattern cache."))
  }
  if (identical(spec$meth, "fixed")) out <- c(out, paste(
    "meth = \"fixed\": jomo draws Omega_j ~ IW(n_j, I + S_j), i.e. an inverse-Wishart prior",
    "with 0 degrees of freedom and identity scale (skjomo: prior_df = 0)."))
  if (identical(spec$meth, "random")) out <- c(out, paste(
    "meth = \"random\": a = 52 (= p + 50) passed explicitly (jomo() passes a = NULL on this",
    "path, section 8.2). jomo writes the final value of a into the R vector passed as `a`;",
    "a fresh copy is passed, and the final value of the imputation run is",
    sprintf("%.4f (model.final_a).", imp$final_a),
    "jomo draws A with the old a before a (section 8.1), truncates the Wishart degrees of",
    "freedom n_j + a and J a + p + 1 to integers (section 6.4) and uses the exponent -2 instead",
    "of -5/2 in the t4 proposal density of a (section 8.1)."))
  out
}

make_fixture <- function(name) {
  spec <- spec_for(name)
  cat(sprintf("== %s: imputation (nburn %d, nbetween %d, nimp %d) ...\n",
              name, spec$nburn, spec$nbetween, NIMP))
  imp <- run_imputation(spec)
  cat(sprintf("   jomo imputation: %.1f s\n", imp$seconds))
  cat(sprintf("== %s: MCMC chain (%d iterations) ...\n", name, spec$chain_nburn))
  chr <- run_chain(spec)
  cat(sprintf("   jomo.MCMCchain: %.1f s\n", chr$seconds))
  post <- summarise_chain(spec, chr$chain, chr$a)
  d <- spec$d
  Y <- d[, spec$Y_names]
  model <- list(
    jomo_call = "jomo",
    worker = "jomo1ranconhr",
    Y = arr(spec$Y_names),
    Y_info = lapply(Y, function(v) list(type = "continuous", n_missing = sum(is.na(v)))),
    Y_latent_columns = arr(spec$Y_names),
    latent_levels = NULL,
    X = arr(spec$X_names),
    X_default_intercept = FALSE,
    Z = NULL,
    Z_default_intercept = TRUE,
    clus = "school",
    n_clusters = nlevels(d$school),
    cluster_order = arr(levels(d$school)),
    Y2 = NULL, Y2_info = NULL, X2 = NULL,
    meth = spec$meth,
    a = spec$a,
    final_a = imp$final_a,
    priors = "jomo defaults (l1cov.prior = I, l2cov.prior = I, a.prior = p)",
    starting_values = "jomo defaults"
  )
  fx <- list(
    fixture = name,
    issue = 4L,
    description = spec$description,
    data = spec$data,
    model = model,
    imputation = list(seed = spec$seed, nburn = spec$nburn, nbetween = spec$nbetween,
                      nimp = NIMP, total_iterations = spec$nburn + (NIMP - 1L) * spec$nbetween),
    analysis = list(fun = "lmer", formula = paste(deparse(spec$formula), collapse = " "),
                    REML = TRUE, coefficient_names = arr(imp$coef_names), contrasts = NULL),
    pooled = imp$pooled,
    imputed_category_counts = NULL,
    posterior = post,
    notes = arr(notes_for(name, spec, imp)),
    versions = versions()
  )
  path <- file.path(OUT_DIR, paste0(name, ".json"))
  write_fixture(fx, path)
  cat(sprintf("   wrote %s\n", path))
  invisible(fx)
}

main <- function() {
  args <- commandArgs(trailingOnly = TRUE)
  if ("--list" %in% args) {
    cat(FIXTURES, sep = "\n")
    return(invisible())
  }
  todo <- if (length(args) == 0L) FIXTURES else args
  bad <- setdiff(todo, FIXTURES)
  if (length(bad)) stop("unknown fixture(s): ", paste(bad, collapse = ", "))
  for (nm in todo) {
    t0 <- proc.time()[["elapsed"]]
    make_fixture(nm)
    cat(sprintf("   total %s: %.1f s\n", nm, proc.time()[["elapsed"]] - t0))
  }
}

if (sys.nframe() == 0L) main()
