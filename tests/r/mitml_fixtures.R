# Reference values for skjomo.pooling, computed with R's mitml (black-box oracle).
#
# Run from the repository root:  Rscript tests/r/mitml_fixtures.R [OUT_DIR]
# Writes OUT_DIR (default tests/fixtures/mitml)/*.csv:
#   linear_imputed.csv     m = 5 imputed data sets (single level, jomoImpute), 4 decimals
#   jsp_imputed.csv        m = 5 imputed JSPmiss data sets (two-level jomoImpute), 4 decimals
#   jsp_lmer_fits.csv      per-imputation lme4 results (fixef, vcov, variance components, logLik)
#   manual_inputs.csv      random qhat / uhat for array input
#   results.csv            mitml results, long format: block, row, column, value (%.17g)
# The fits are computed on the data as re-read from the CSV files, so Python
# fits the very same numbers.
suppressMessages({library(mitml); library(lme4)})
args <- commandArgs(trailingOnly = TRUE)
out_dir <- if (length(args) >= 1) args[1] else file.path("tests", "fixtures", "mitml")
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)
fmt <- function(x) sprintf("%.17g", x)
rows <- list()
add <- function(block, row, column, value) {
  rows[[length(rows) + 1]] <<- data.frame(block = block, row = row, column = column,
                                          value = fmt(as.numeric(value)))
}
add_matrix <- function(block, M) {
  M <- as.matrix(M)
  if (is.null(rownames(M))) rownames(M) <- if (nrow(M) == 1) "" else paste0("R", seq_len(nrow(M)))
  if (is.null(colnames(M))) colnames(M) <- paste0("V", seq_len(ncol(M)))
  for (i in seq_len(nrow(M))) for (j in seq_len(ncol(M)))
    add(block, rownames(M)[i], colnames(M)[j], M[i, j])
}
add_test <- function(block, tm) add_matrix(block, tm$test)

## ------------------------------------------------------------ single level
set.seed(20240521)
n <- 60
x1 <- rnorm(n); x2 <- 0.5 * x1 + rnorm(n); x3 <- rnorm(n)
y <- 1 + 0.5 * x1 + 0.3 * x2 + 0.1 * x3 + rnorm(n)
b <- rbinom(n, 1, plogis(-0.3 + 0.8 * x1 + 0.4 * x3))
dat <- data.frame(y = y, x1 = x1, x2 = x2, x3 = x3, b = b)
dat$y[sample(n, 12)] <- NA
dat$x1[sample(n, 10)] <- NA
dat$x2[sample(n, 8)] <- NA
imp <- jomoImpute(dat, formula = y + x1 + x2 ~ x3 + b, n.burn = 300, n.iter = 50, m = 5,
                  seed = 4711, silent = TRUE)
long <- do.call(rbind, lapply(seq_along(mitmlComplete(imp, "all")), function(i) {
  d <- mitmlComplete(imp, "all")[[i]]
  d[c("y", "x1", "x2", "x3")] <- round(d[c("y", "x1", "x2", "x3")], 4)
  cbind(Imputation = i, d)
}))
write.csv(long, file.path(out_dir, "linear_imputed.csv"), row.names = FALSE)
long <- read.csv(file.path(out_dir, "linear_imputed.csv"))
implist <- as.mitml.list(split(long[-1], long$Imputation))

fit1 <- with(implist, lm(y ~ x1 + x2 + x3))
fit0 <- with(implist, lm(y ~ x1))
# per-imputation coefficients and covariances (constraint tests are compared
# on these: forward differences react to the last bits of the estimates)
lmfits <- NULL
for (i in seq_along(fit1)) {
  cf <- coef(fit1[[i]]); V <- vcov(fit1[[i]])
  for (j in seq_along(cf)) {
    lmfits <- rbind(lmfits, data.frame(imputation = i, row = names(cf)[j], column = "", value = fmt(cf[j])))
    for (k in seq_along(cf))
      lmfits <- rbind(lmfits, data.frame(imputation = i, row = names(cf)[j], column = names(cf)[k], value = fmt(V[j, k])))
  }
}
write.csv(lmfits, file.path(out_dir, "lm_fits.csv"), row.names = FALSE)
est <- testEstimates(fit1, extra.pars = TRUE)
add_matrix("lm_estimates", est$estimates)
add_matrix("lm_extra", est$extra.pars)
add_matrix("lm_vcov", vcov(est))
add_matrix("lm_confint", confint(est))
add_matrix("lm_confint90", confint(est, level = 0.9))
add_matrix("lm_estimates_dfcom", testEstimates(fit1, df.com = 56)$estimates)
add_test("lm_D1", testModels(fit1, fit0, method = "D1"))
add_test("lm_D1_dfcom", testModels(fit1, fit0, method = "D1", df.com = 56))
add_test("lm_D2_wald", testModels(fit1, fit0, method = "D2", use = "wald"))
add_test("lm_D2_likelihood", testModels(fit1, fit0, method = "D2", use = "likelihood"))
add_test("lm_D3", testModels(fit1, fit0, method = "D3"))
add_test("lm_D4", testModels(fit1, fit0, method = "D4"))
add_test("lm_D4_robust", testModels(fit1, fit0, method = "D4", ariv = "robust"))
add_test("lm_D2_positive", testModels(fit1, fit0, method = "D2", ariv = "positive"))
tc <- testConstraints(fit1, constraints = c("x2", "x3"))
add_test("lm_constraints_D1", tc); add_matrix("lm_constraints_D1_vcov", tc$T)
add_matrix("lm_constraints_D1_qbar", matrix(tc$Qbar, ncol = 1, dimnames = list(NULL, "Estimate")))
tc <- testConstraints(fit1, constraints = c("x1/x2", "x1 - x3"), df.com = 56)
add_test("lm_constraints_nonlin_dfcom", tc); add_matrix("lm_constraints_nonlin_dfcom_vcov", tc$T)
add_matrix("lm_constraints_nonlin_dfcom_qbar", matrix(tc$Qbar, ncol = 1, dimnames = list(NULL, "Estimate")))
tc <- testConstraints(fit1, constraints = c("x1/x2", "(Intercept) + x3^2"), method = "D2")
add_test("lm_constraints_nonlin_D2", tc); add_matrix("lm_constraints_nonlin_D2_vcov", tc$T)
add_matrix("lm_constraints_nonlin_D2_qbar", matrix(tc$Qbar, ncol = 1, dimnames = list(NULL, "Estimate")))

# tight convergence, so that R's and statsmodels' IRLS agree to ~1e-12
gfit1 <- with(implist, glm(b ~ x1 + x2 + x3, family = binomial, control = glm.control(epsilon = 1e-14, maxit = 100)))
gfit0 <- with(implist, glm(b ~ x1, family = binomial, control = glm.control(epsilon = 1e-14, maxit = 100)))
add_matrix("glm_estimates", testEstimates(gfit1)$estimates)
add_test("glm_D1", testModels(gfit1, gfit0, method = "D1"))
add_test("glm_D2_wald", testModels(gfit1, gfit0, method = "D2"))
add_test("glm_D2_likelihood", testModels(gfit1, gfit0, method = "D2", use = "likelihood"))
add_test("glm_D4", testModels(gfit1, gfit0, method = "D4"))

## ------------------------------------------------------------ manual input
set.seed(99)
m <- 4; p <- 3
qhat <- matrix(rnorm(p * m, mean = c(1, -0.5, 2), sd = 0.2), p, m,
               dimnames = list(c("a", "b", "c"), NULL))
uhat <- array(0, c(p, p, m), dimnames = list(c("a", "b", "c"), c("a", "b", "c"), NULL))
manual <- NULL
for (i in 1:m) {
  A <- matrix(rnorm(p * p, sd = 0.1), p, p)
  uhat[, , i] <- crossprod(A) + diag(0.01, p)
  for (j in 1:p) for (k in 1:p)
    manual <- rbind(manual, data.frame(imputation = i, row = j, column = k, value = fmt(uhat[j, k, i])))
  for (j in 1:p) manual <- rbind(manual, data.frame(imputation = i, row = j, column = 0, value = fmt(qhat[j, i])))
}
write.csv(manual, file.path(out_dir, "manual_inputs.csv"), row.names = FALSE)
man <- testEstimates(qhat = qhat, uhat = uhat)
add_matrix("manual_estimates", man$estimates); add_matrix("manual_vcov", vcov(man))
add_matrix("manual_estimates_dfcom", testEstimates(qhat = qhat, uhat = uhat, df.com = c(10, 20, 1000))$estimates)
vars <- apply(uhat, 3, diag)
add_matrix("manual_variances", testEstimates(qhat = qhat, uhat = vars)$estimates)
add_matrix("manual_qhat_only", testEstimates(qhat = qhat)$estimates)
tc <- testConstraints(qhat = qhat, uhat = uhat, constraints = c("a*b - c", "exp(a)"))
add_test("manual_constraints", tc); add_matrix("manual_constraints_vcov", tc$T)

## ------------------------------------------------------------ two level (JSPmiss)
jsp <- read.csv(file.path("skjomo", "datasets", "data", "JSPmiss.csv"))
jsp$fluent <- factor(jsp$fluent)
jsp <- jsp[c("school", "id", "sex", "fluent", "ravens", "english")]
jimp <- jomoImpute(jsp, formula = english + ravens + fluent ~ sex + (1 | school),
                   n.burn = 500, n.iter = 100, m = 5, seed = 1569, silent = TRUE)
jlong <- do.call(rbind, lapply(1:5, function(i) {
  d <- mitmlComplete(jimp, "all")[[i]]
  d[c("english", "ravens")] <- round(d[c("english", "ravens")], 4)
  cbind(Imputation = i, d)
}))
write.csv(jlong, file.path(out_dir, "jsp_imputed.csv"), row.names = FALSE)
jlong <- read.csv(file.path(out_dir, "jsp_imputed.csv"))
jlong$fluent <- factor(jlong$fluent)
jlist <- as.mitml.list(split(jlong[-1], jlong$Imputation))
lfit1 <- with(jlist, lmer(english ~ ravens + sex + fluent + (1 | school)))
lfit0 <- with(jlist, lmer(english ~ ravens + sex + (1 | school)))
fits <- NULL
for (i in 1:5) {
  f <- lfit1[[i]]; V <- as.matrix(vcov(f)); fe <- fixef(f)
  for (j in seq_along(fe)) {
    fits <- rbind(fits, data.frame(imputation = i, kind = "fixef", row = names(fe)[j], column = "", value = fmt(fe[j])))
    for (k in seq_along(fe))
      fits <- rbind(fits, data.frame(imputation = i, kind = "vcov", row = names(fe)[j], column = names(fe)[k], value = fmt(V[j, k])))
  }
  vc <- as.data.frame(VarCorr(f))
  fits <- rbind(fits, data.frame(imputation = i, kind = "extra", row = "tau00", column = "", value = fmt(vc$vcov[1])))
  fits <- rbind(fits, data.frame(imputation = i, kind = "extra", row = "sigma2", column = "", value = fmt(vc$vcov[2])))
  fml <- refitML(f); f0ml <- refitML(lfit0[[i]])
  fits <- rbind(fits, data.frame(imputation = i, kind = "loglik", row = c("reml_full", "ml_full", "ml_null"), column = "",
                                 value = fmt(c(logLik(f), logLik(fml), logLik(f0ml)))))
}
write.csv(fits, file.path(out_dir, "jsp_lmer_fits.csv"), row.names = FALSE)
jest <- testEstimates(lfit1, extra.pars = TRUE)
add_matrix("jsp_estimates", jest$estimates)
add_matrix("jsp_extra", jest$extra.pars)
add_matrix("jsp_estimates_dfcom", testEstimates(lfit1, df.com = 1000)$estimates)
add_test("jsp_D1", testModels(lfit1, lfit0, method = "D1"))
add_test("jsp_D2_wald", testModels(lfit1, lfit0, method = "D2"))
add_test("jsp_D2_likelihood", testModels(lfit1, lfit0, method = "D2", use = "likelihood"))
add_test("jsp_D3", testModels(lfit1, lfit0, method = "D3"))

write.csv(do.call(rbind, rows), file.path(out_dir, "results.csv"), row.names = FALSE)
cat("done\n")
