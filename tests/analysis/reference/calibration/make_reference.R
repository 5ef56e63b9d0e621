# Reference values for tests/analysis/test_calibration_r.py.
#
# Regenerate from this folder with:  Rscript make_reference.R
# (R >= 4.2, package survey 4.1; Debian: r-base-core r-cran-survey)
#
# Writes apiclus1.csv, apistrat.csv (selected columns of R's api data, numbers
# with 17 significant digits) and values.csv (name,index,value).
suppressMessages(library(survey))
data(api)
options(survey.lonely.psu = "fail")

keep <- c("cds", "snum", "dnum", "stype", "sch.wide", "api00", "api99",
          "enroll", "acs.k3", "fpc", "pw")
fmt <- function(x) sprintf("%.17g", x)
write_data <- function(d, file) {
  d[] <- lapply(d, function(x) if (is.numeric(x)) ifelse(is.na(x), NA, fmt(x)) else x)
  write.csv(d, file, row.names = FALSE, quote = FALSE, na = "")
}
write_data(apiclus1[, keep], "apiclus1.csv")
write_data(apistrat[, keep], "apistrat.csv")

out <- list()
put <- function(name, x) out[[name]] <<- as.numeric(x)

wdiag <- function(prefix, w) {
  n <- length(w)
  cv <- sqrt(mean((w - mean(w))^2)) / mean(w)      # population CV
  put(paste0(prefix, "_weights"), w)
  put(paste0(prefix, "_wdiag"), c(min(w), max(w), mean(w), cv, 1 + cv^2,
                                   n / (1 + cv^2), sum(w)))
}

record <- function(prefix, des) {
  m <- svymean(~api00 + api99, des)
  put(paste0(prefix, "_mean_est"), coef(m))
  put(paste0(prefix, "_mean_vcov"), vcov(m))
  t <- svytotal(~enroll, des)
  put(paste0(prefix, "_total_enroll_est"), coef(t))
  put(paste0(prefix, "_total_enroll_se"), SE(t))
  p <- svymean(~stype, des)
  put(paste0(prefix, "_prop_stype_est"), coef(p))
  put(paste0(prefix, "_prop_stype_se"), SE(p))
  tt <- svytotal(~stype, des)
  put(paste0(prefix, "_total_stype_est"), coef(tt))
  put(paste0(prefix, "_total_stype_se"), SE(tt))
  r <- svyratio(~api00, ~api99, des)
  put(paste0(prefix, "_ratio_est"), coef(r))
  put(paste0(prefix, "_ratio_se"), SE(r))
  n <- svymean(~acs.k3, des, na.rm = TRUE)
  put(paste0(prefix, "_mean_acsk3_narm_est"), coef(n))
  put(paste0(prefix, "_mean_acsk3_narm_se"), SE(n))
  b <- svyby(~api00, ~sch.wide, des, svymean)
  put(paste0(prefix, "_by_schwide_est"), coef(b))   # levels No, Yes
  put(paste0(prefix, "_by_schwide_se"), SE(b))
  if (inherits(des, "svyrep.design")) {
    wdiag(prefix, weights(des, "sampling"))
    put(paste0(prefix, "_degf"), degf(des))
  } else {
    wdiag(prefix, weights(des))
  }
}

dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
record("base", dclus1)

# post-stratification on school type
pop.types <- data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018))
ps <- postStratify(dclus1, ~stype, pop.types)
record("ps", ps)

# raking on school type and sch.wide (R's default control: maxit 10, epsilon 1)
pop.schwide <- data.frame(sch.wide = c("No", "Yes"), Freq = c(1072, 5122))
rk <- rake(dclus1, list(~stype, ~sch.wide), list(pop.types, pop.schwide))
record("rake", rk)
# tighter convergence
rk2 <- rake(dclus1, list(~stype, ~sch.wide), list(pop.types, pop.schwide),
            control = list(maxit = 50, epsilon = 1e-9))
record("raketight", rk2)

# post-stratification after raking a stratified design (two steps in order)
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
pss <- postStratify(dstrat, ~sch.wide, pop.schwide)
record("psstrat", pss)

# linear (GREG) calibration on stype and api99
pop.totals <- c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018, api99 = 3914069)
gr <- calibrate(dclus1, ~stype + api99, pop.totals, calfun = "linear")
record("greg", gr)

# the same calibrations of a JK1 replicate design: each replicate is calibrated
jk1 <- as.svrepdesign(dclus1, type = "JK1")
record("jk1ps", postStratify(jk1, ~stype, pop.types))
record("jk1rake", rake(jk1, list(~stype, ~sch.wide), list(pop.types, pop.schwide)))
record("jk1greg", calibrate(jk1, ~stype + api99, pop.totals, calfun = "linear"))

vals <- do.call(rbind, lapply(names(out), function(nm)
  data.frame(name = nm, index = seq_along(out[[nm]]), value = fmt(out[[nm]]))))
write.csv(vals, "values.csv", row.names = FALSE, quote = FALSE)
