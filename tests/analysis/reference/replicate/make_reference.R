# Reference values for tests/analysis/test_replicate_r.py.
#
# Regenerate from this folder with:  Rscript make_reference.R
# (R >= 4.2, package survey 4.1; Debian: r-base-core r-cran-survey)
#
# Writes
#   apiclus1.csv, apistrat.csv      the data (selected columns of R's api data)
#   boot_clus1_repweights.csv       bootstrap replicate weights made by R
#                                   (R's RNG cannot be matched, so the Python
#                                   test takes these weights as given)
#   boot_strat_repweights.csv       the same for the stratified design (with fpc)
#   values.csv                      name,value with 17 significant digits
suppressMessages(library(survey))
data(api)
options(survey.replicates.mse = FALSE, survey.lonely.psu = "fail")

keep <- c("cds", "snum", "dnum", "stype", "sch.wide", "api00", "api99",
          "enroll", "acs.k3", "fpc", "pw")
# a stratum with a single PSU for the lonely-PSU policies: the first high
# school of apistrat alone in stratum "X"
apistrat$st <- as.character(apistrat$stype)
apistrat$st[which(apistrat$stype == "H")[1]] <- "X"
fmt <- function(x) sprintf("%.17g", x)
# numbers with 17 significant digits (write.csv keeps only 15)
write_data <- function(d, file) {
  d[] <- lapply(d, function(x) if (is.numeric(x)) ifelse(is.na(x), NA, fmt(x)) else x)
  write.csv(d, file, row.names = FALSE, quote = FALSE, na = "")
}
write_data(apiclus1[, keep], "apiclus1.csv")
write_data(apistrat[, c(keep, "st")], "apistrat.csv")

out <- list()
put <- function(name, x) out[[name]] <<- as.numeric(x)

# estimates and SEs of one design under a prefix
record <- function(prefix, des) {
  m <- svymean(~api00 + api99, des)
  put(paste0(prefix, "_mean_est"), coef(m))
  put(paste0(prefix, "_mean_vcov"), vcov(m))
  t <- svytotal(~enroll, des)
  put(paste0(prefix, "_total_enroll_est"), coef(t))
  put(paste0(prefix, "_total_enroll_se"), SE(t))
  p <- svymean(~stype, des)            # proportions of each level
  put(paste0(prefix, "_prop_stype_est"), coef(p))
  put(paste0(prefix, "_prop_stype_se"), SE(p))
  r <- svyratio(~api00, ~api99, des)
  put(paste0(prefix, "_ratio_est"), coef(r))
  put(paste0(prefix, "_ratio_se"), SE(r))
  n <- svymean(~acs.k3, des, na.rm = TRUE)
  put(paste0(prefix, "_mean_acsk3_narm_est"), coef(n))
  put(paste0(prefix, "_mean_acsk3_narm_se"), SE(n))
  b <- svyby(~api00, ~sch.wide, des, svymean, covmat = TRUE)
  put(paste0(prefix, "_by_schwide_est"), coef(b))   # levels No, Yes
  put(paste0(prefix, "_by_schwide_vcov"), vcov(b))  # full replicate covariance
  put(paste0(prefix, "_by_schwide_degf"),           # degf of each svyby subset
      c(degf(subset(des, sch.wide == "No")), degf(subset(des, sch.wide == "Yes"))))
  put(paste0(prefix, "_degf"), degf(des))
}

# JK1 on apiclus1 (one-stage cluster sample of school districts, fpc)
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
jk1 <- as.svrepdesign(dclus1, type = "JK1")
put("jk1_scale", jk1$scale)
put("jk1_rscales", jk1$rscales)
record("jk1", jk1)
jk1mse <- as.svrepdesign(dclus1, type = "JK1", mse = TRUE)
record("jk1mse", jk1mse)
# without fpc
dclus1n <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1)
jk1n <- as.svrepdesign(dclus1n, type = "JK1")
put("jk1nofpc_scale", jk1n$scale)
record("jk1nofpc", jk1n)
# JK1 from given replicate columns (combined weights), svrepdesign conventions
given <- weights(jk1n, "analysis")
gd <- svrepdesign(data = apiclus1, repweights = given, weights = ~pw,
                  type = "JK1", scale = 14 / 15, combined.weights = TRUE)
record("jk1given", gd)

# JKn on apistrat (stratified simple random sample, fpc)
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
jkn <- as.svrepdesign(dstrat, type = "JKn")
put("jkn_scale", jkn$scale)
put("jkn_rscales", jkn$rscales)
record("jkn", jkn)
jknmse <- as.svrepdesign(dstrat, type = "JKn", mse = TRUE)
record("jknmse", jknmse)
dstratn <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat)
jknn <- as.svrepdesign(dstratn, type = "JKn")
put("jknnofpc_rscales", jknn$rscales)
record("jknnofpc", jknn)

# Bootstrap (Canty-Davison rescaled bootstrap), weights exported
set.seed(20261124)
boot <- as.svrepdesign(dclus1n, type = "bootstrap", replicates = 50)
bw <- weights(boot, "analysis")
write.csv(matrix(fmt(bw), nrow = nrow(bw)), "boot_clus1_repweights.csv", row.names = FALSE, quote = FALSE)
put("boot_scale", boot$scale)
record("boot", boot)
# the same weights given to svrepdesign(type = "bootstrap"): scale 1/(R-1)
bootg <- svrepdesign(data = apiclus1, repweights = bw, weights = ~pw,
                     type = "bootstrap", combined.weights = TRUE)
put("bootgiven_scale", bootg$scale)
record("bootgiven", bootg)
bootgm <- svrepdesign(data = apiclus1, repweights = bw, weights = ~pw,
                      type = "bootstrap", combined.weights = TRUE, mse = TRUE)
record("bootgivenmse", bootgm)

set.seed(7)
sboot <- as.svrepdesign(dstrat, type = "bootstrap", replicates = 40)
sw <- weights(sboot, "analysis")
write.csv(matrix(fmt(sw), nrow = nrow(sw)), "boot_strat_repweights.csv", row.names = FALSE, quote = FALSE)
put("bootstrat_scale", sboot$scale)
record("bootstrat", sboot)

# JKn with a single-PSU stratum under each lonely-PSU policy
for (policy in c("remove", "adjust", "average", "certainty")) {
  options(survey.lonely.psu = policy)
  lon <- as.svrepdesign(svydesign(id = ~1, strata = ~st, weights = ~pw, data = apistrat),
                        type = "JKn")
  m <- svymean(~api00 + api99, lon)
  put(paste0("lonely_", policy, "_mean_est"), coef(m))
  put(paste0("lonely_", policy, "_mean_vcov"), vcov(m))
  put(paste0("lonely_", policy, "_scale"), lon$scale)
  put(paste0("lonely_", policy, "_nrep"), ncol(lon$repweights$weights))
  put(paste0("lonely_", policy, "_degf"), degf(lon))
}
options(survey.lonely.psu = "fail")

# Taylor-linearised SEs of the same designs, for orientation only
put("taylor_clus1_mean_se", SE(svymean(~api00 + api99, dclus1)))

vals <- do.call(rbind, lapply(names(out), function(nm)
  data.frame(name = nm, index = seq_along(out[[nm]]), value = fmt(out[[nm]]))))
write.csv(vals, "values.csv", row.names = FALSE, quote = FALSE)
