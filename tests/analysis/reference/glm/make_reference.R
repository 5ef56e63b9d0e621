# Reference values for tests/analysis/test_glm_r.py: design-based regression,
# R's svyglm, on R's api data and on the SIPAS-like test data.
#
# Regenerate from this folder with:  Rscript make_reference.R
# (R >= 4.2, package survey 4.1; Debian: r-base-core r-cran-survey)
#
# Reads ../core/apistrat.csv, ../core/apiclus1.csv, ../core/apiclus2.csv
# (R's api data as ../core/make_reference.R exported it) and
# ../sipas/sipas.csv; writes values.csv (name,index,value) and terms.csv
# (case,index,term: R's coefficient names, in R's order).
#
# Each case is fitted to convergence: glm.control(epsilon = 1e-15), then
# refitted from those coefficients, so that the last IRLS step is nil.  R's
# svyglm takes the bread of its sandwich (summary(glm)$cov.unscaled) and the
# working weights from the iterate *before* the last one; with the default
# epsilon = 1e-8 a logistic model stops while that iterate still differs from
# the estimates, and its standard errors carry that difference (about 1e-6
# relative here).  The fits with the default control are written too
# (<case>_default_est, <case>_default_se) so the tests can show it.
suppressMessages(library(survey))
options(survey.lonely.psu = "fail", survey.adjust.domain.lonely = FALSE,
        survey.ultimate.cluster = FALSE)

apistrat <- read.csv("../core/apistrat.csv", stringsAsFactors = FALSE)
apiclus1 <- read.csv("../core/apiclus1.csv", stringsAsFactors = FALSE)
apiclus2 <- read.csv("../core/apiclus2.csv", stringsAsFactors = FALSE)
sipas <- read.csv("../sipas/sipas.csv", stringsAsFactors = FALSE)

fmt <- function(x) sprintf("%.17g", x)
out <- list()
put <- function(name, x) out[[name]] <<- as.numeric(x)
term_rows <- list()

converged <- function(formula, design, fam, start = NULL) {
  eval(bquote(svyglm(.(formula), design, family = fam, start = .(start),
                     control = glm.control(epsilon = 1e-15, maxit = 100))))
}

# One case: the design (a function, so the lonely-PSU option applies when it is
# built and used), the model, the family and the lonely-PSU policy.
fit_case <- function(name, make_design, formula, family, policy = "fail") {
  options(survey.lonely.psu = policy)
  design <- make_design()
  fam <- if (family == "binomial") quasibinomial() else gaussian()
  first <- converged(formula, design, fam)
  fit <- converged(formula, design, fam, start = unname(coef(first)))
  stopifnot(fit$converged, fit$iter <= 2)
  s <- summary(fit)$coefficients
  put(paste0(name, "_est"), s[, 1])
  put(paste0(name, "_se"), s[, 2])
  put(paste0(name, "_t"), s[, 3])
  put(paste0(name, "_p"), s[, 4])
  put(paste0(name, "_df"), fit$df.residual)
  put(paste0(name, "_n"), length(fit$residuals))
  put(paste0(name, "_vcov"), vcov(fit))
  ci95 <- confint(fit)
  put(paste0(name, "_ci95_low"), ci95[, 1])
  put(paste0(name, "_ci95_high"), ci95[, 2])
  ci90 <- confint(fit, level = 0.9)
  put(paste0(name, "_ci90_low"), ci90[, 1])
  put(paste0(name, "_ci90_high"), ci90[, 2])
  default <- svyglm(formula, design, family = fam)
  put(paste0(name, "_default_est"), coef(default))
  put(paste0(name, "_default_se"), SE(default))
  term_rows[[name]] <<- data.frame(case = name, index = seq_along(coef(fit)),
                                   term = names(coef(fit)))
  options(survey.lonely.psu = "fail")
  invisible(fit)
}

strat <- function() svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc,
                              data = apistrat)
clus1 <- function() svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)
clus2 <- function() svydesign(id = ~dnum + snum, weights = ~pw, fpc = ~fpc1 + fpc2,
                              data = apiclus2)
# stratum "C" of lstrat holds a single district: a lonely PSU
lonely <- function() svydesign(id = ~dnum, strata = ~lstrat, weights = ~pw, data = apiclus1)
lonely_fpc <- function() svydesign(id = ~dnum, strata = ~lstrat, weights = ~pw, fpc = ~lfpc,
                                   data = apiclus1)
sipas2 <- function() svydesign(ids = ~desk + day, strata = ~province,
                               fpc = ~desks_total + days_total, weights = ~weight,
                               data = sipas)

# stratified with fpc: a factor, an interaction, a logistic model
fit_case("strat_gauss", strat, api00 ~ ell + meals + mobility + stype, "gaussian")
fit_case("strat_interact", strat, api00 ~ stype * meals + ell, "gaussian")
fit_case("strat_binom", strat, yes ~ ell + meals + mobility + stype, "binomial")
# acs.k3 is missing outside elementary schools: strata H and M leave the fit
fit_case("strat_missing", strat, api00 ~ acs.k3 + meals, "gaussian")

# one-stage cluster sample with fpc
fit_case("clus1_gauss", clus1, api00 ~ ell + meals + stype, "gaussian")
fit_case("clus1_binom", clus1, yes ~ ell + meals + mobility, "binomial")
fit_case("clus1_missing_binom", clus1, yes ~ acs.k3 + meals, "binomial")

# two-stage cluster sample with fpc at both stages
fit_case("clus2_gauss", clus2, api00 ~ ell + meals + stype, "gaussian")
fit_case("clus2_binom", clus2, yes ~ meals + mobility, "binomial")
# acs.46 is missing in every high school: level H of stype is dropped
fit_case("clus2_missing", clus2, api00 ~ acs.46 + meals + stype, "gaussian")

# a lonely PSU, under each policy; and with fpc
for (policy in c("adjust", "remove", "average", "certainty")) {
  fit_case(paste0("lonely_", policy), lonely, api00 ~ ell + meals + stype, "gaussian", policy)
}
fit_case("lonely_fpc_adjust", lonely_fpc, api00 ~ ell + meals + stype, "gaussian", "adjust")
fit_case("lonely_binom_adjust", lonely, yes ~ ell + meals, "binomial", "adjust")

# a post-stratified design (population counts of the school types): the
# estimating functions are replaced by their residuals on the strata
pop <- data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018))
poststrat <- function() postStratify(clus1(), ~stype, pop)
fit_case("clus1_poststrat", poststrat, api00 ~ ell + meals, "gaussian")
fit_case("clus1_poststrat_missing_binom", poststrat, yes ~ acs.k3 + meals, "binomial")

# intercept only: the coefficient is the mean, its SE svymean's
fit_case("strat_mean", strat, api00 ~ 1, "gaussian")
put("strat_mean_svymean", c(coef(svymean(~api00, strat())), SE(svymean(~api00, strat()))))
fit_case("clus2_mean_missing", clus2, acs.k3 ~ 1, "gaussian")
m <- svymean(~acs.k3, clus2(), na.rm = TRUE)
put("clus2_mean_missing_svymean", c(coef(m), SE(m)))

# the SIPAS-like data: two stages with fpc, fee missing for some respondents
fit_case("sipas_gauss", sipas2, fee ~ age + channel + gender, "gaussian")
fit_case("sipas_binom", sipas2, paid ~ age + channel, "binomial")

vals <- do.call(rbind, lapply(names(out), function(nm)
  data.frame(name = nm, index = seq_along(out[[nm]]), value = fmt(out[[nm]]))))
write.csv(vals, "values.csv", row.names = FALSE, quote = FALSE)
write.csv(do.call(rbind, term_rows), "terms.csv", row.names = FALSE, quote = FALSE)
