# Impute replicates of the rare-category simulation with jomo::jomo.
#
# Usage: Rscript rare_category_jomo.R DIR NBURN NBETWEEN NIMP SEED [SEED ...]
# Reads DIR/in_SEED.csv (columns cluster, c, x, g, y; x and g categorical
# with NA for missing), writes DIR/out_SEED.csv: the completed data sets
# stacked, with an Imputation column 1..NIMP. Model (tests/rare_category_simulation.py):
# level-1 outcomes y (continuous) and x (binary), covariates 1 and c,
# random intercepts, level-2 outcome g (categorical); jomo's default
# priors and starting values. set.seed(SEED) before each replicate.
suppressPackageStartupMessages(library(jomo))
args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]
nburn <- as.integer(args[2])
nbetween <- as.integer(args[3])
nimp <- as.integer(args[4])
seeds <- args[-(1:4)]
# the order of g's categories (jomo's latent coding follows the factor
# levels; the last is the reference): DIR/g_levels.txt, else A, B, C, D
levels_file <- file.path(dir, "g_levels.txt")
g_levels <- if (file.exists(levels_file)) readLines(levels_file) else c("A", "B", "C", "D")
RNGkind("Mersenne-Twister", "Inversion", "Rejection")
for (seed in seeds) {
  d <- read.csv(file.path(dir, paste0("in_", seed, ".csv")))
  Y <- data.frame(y = d$y, x = factor(d$x, levels = c("no", "yes")))
  Y2 <- data.frame(g = factor(d$g, levels = g_levels))
  X <- data.frame(intercept = 1, c = d$c)
  set.seed(as.integer(seed))
  imp <- jomo(Y = Y, Y2 = Y2, X = X, clus = d$cluster, nburn = nburn,
              nbetween = nbetween, nimp = nimp, output = 0)
  imp <- imp[imp$Imputation > 0, ]
  out <- data.frame(cluster = imp$clus, c = imp$c, x = imp$x, g = imp$g,
                    y = imp$y, Imputation = imp$Imputation)
  write.csv(out, file.path(dir, paste0("out_", seed, ".csv")), row.names = FALSE)
}
