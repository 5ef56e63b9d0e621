# Reference values for tests/analysis/test_contrast_r.py.
#
# Regenerate from this folder with:  Rscript make_reference.R
# (R >= 4.2, package survey 4.1; Debian: r-base-core r-cran-survey)
#
# Writes apiclus1.csv, apistrat.csv (selected columns of R's api data, numbers
# with 17 significant digits) and values.csv (name,index,value).
suppressMessages(library(survey))
data(api)
options(survey.lonely.psu = "fail", survey.replicates.mse = FALSE)

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
# estimate, SE, z, two-sided normal p-value and t p-value on df
put_contrast <- function(name, con, df) {
  est <- coef(con)
  se <- SE(con)
  put(paste0(name, "_est"), est)
  put(paste0(name, "_se"), se)
  put(paste0(name, "_vcov"), vcov(con))
  put(paste0(name, "_z"), est / se)
  put(paste0(name, "_p"), 2 * pnorm(-abs(est / se)))
  put(paste0(name, "_pt"), 2 * pt(-abs(est / se), df = df))
}

dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
df_strat <- degf(dstrat)

# difference of domain means between two school types (domains = strata)
a <- svyby(~api00, ~stype, dstrat, svymean, covmat = TRUE)
put("strat_by_stype_est", coef(a))
put_contrast("strat_EminusH", svycontrast(a, c(E = 1, H = -1, M = 0)), df_strat)
put_contrast("strat_two", svycontrast(a, list(EvH = c(1, -1, 0), EvM = c(1, 0, -1))), df_strat)

# a weighted sum and a difference of the means of two variables
m <- svymean(~api00 + api99, dstrat)
put_contrast("strat_wsum", svycontrast(m, c(api00 = 0.6, api99 = 0.4)), df_strat)
put_contrast("strat_growth", svycontrast(m, c(api00 = 1, api99 = -1)), df_strat)

# non-linear contrasts (delta method): a ratio of two means and the relative
# difference of two domain means
put_contrast("strat_nl_ratio", svycontrast(m, quote(api00 / api99)), df_strat)
put_contrast("strat_nl_reldiff", svycontrast(a, quote((E - H) / H)), df_strat)

# totals by domain: the sum of two domain totals
tt <- svyby(~enroll, ~stype, dstrat, svytotal, covmat = TRUE)
put_contrast("strat_total_EplusM", svycontrast(tt, c(1, 0, 1)), df_strat)

# proportions of the levels of a factor: Yes minus No
p <- svymean(~sch.wide, dstrat)
put_contrast("strat_prop_diff", svycontrast(p, c(-1, 1)), df_strat)

# domains that share PSUs: sch.wide Yes minus No in the cluster sample.  R's
# svyby(covmat = TRUE) sets the covariance between domains to zero for a
# linearisation design, so the joint covariance is taken from svyratio.
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
df_clus <- degf(dclus1)
dclus1 <- update(dclus1, yes = as.numeric(sch.wide == "Yes"),
                 no = as.numeric(sch.wide == "No"))
dclus1 <- update(dclus1, ny = api00 * yes, nn = api00 * no)
r <- svyratio(~ny + nn, ~yes + no, dclus1, covmat = TRUE)
# order of r$vcov: (ny,yes), (nn,yes), (ny,no), (nn,no)
est <- c(r$ratio[1, 1], r$ratio[2, 2])
v <- r$vcov[c(1, 4), c(1, 4)]
put("clus_by_schwide_est", est)
put("clus_by_schwide_vcov", v)
cc <- c(1, -1)
ce <- sum(cc * est)
cse <- sqrt(drop(t(cc) %*% v %*% cc))
put("clus_YminusN_est", ce)
put("clus_YminusN_se", cse)
put("clus_YminusN_p", 2 * pnorm(-abs(ce / cse)))
put("clus_YminusN_pt", 2 * pt(-abs(ce / cse), df = df_clus))
bd <- svyby(~api00, ~sch.wide, dclus1, svymean, covmat = TRUE)
put("clus_blockdiag_YminusN_se", SE(svycontrast(bd, c(-1, 1))))

# the same on a JK1 replicate design (svyby gives the full covariance there)
jk1 <- as.svrepdesign(dclus1, type = "JK1")
bj <- svyby(~api00, ~sch.wide, jk1, svymean, covmat = TRUE)
put_contrast("jk1_YminusN", svycontrast(bj, c(-1, 1)), degf(jk1))
mj <- svymean(~api00 + api99, jk1)
put_contrast("jk1_wsum", svycontrast(mj, c(api00 = 0.6, api99 = 0.4)), degf(jk1))

vals <- do.call(rbind, lapply(names(out), function(nm)
  data.frame(name = nm, index = seq_along(out[[nm]]), value = fmt(out[[nm]]))))
write.csv(vals, "values.csv", row.names = FALSE, quote = FALSE)
