# Reference values for tests/survey/test_drivers.py: the workbench's driver
# analysis (survey/services/drivers.py) against R's svyglm.
#
# drivers.csv is the driver data frame the service builds from the demo wave
# (fixed seed); regenerate it, then this file's values.csv, from the
# repository's root with:
#
#   python -m tests.survey.test_drivers
#   cd tests/analysis/reference/drivers && Rscript make_reference.R
#
# (R >= 4.2, package survey 4.1; Debian: r-base-core r-cran-survey)
#
# Columns of drivers.csv: the design (stratum, psu = the desk, fpc = desks of
# the stratum, weight = the base weight), province, the outcome (the share of
# the "in general" items answered that are satisfied) and its 0/1 form
# satisfied (more than half), and the five service dimension scores S_A..S_E
# (the share of the dimension's items answered that are satisfied); empty
# cells are missing values.
#
# Each case is fitted on the whole wave and on the respondents of province 01
# (a domain: subset() keeps every PSU of the design).  Logistic models are
# fitted to convergence as in ../glm/make_reference.R: glm.control(epsilon =
# 1e-15), then refitted from those coefficients, so that the sandwich is
# evaluated at the estimates (R's default epsilon = 1e-8 stops while the
# working weights still differ, by about 1e-6 relative in the SEs).
#
# Writes values.csv (name,index,value): <case>_est, _se, _t, _p, _df, _n.
suppressMessages(library(survey))
options(survey.lonely.psu = "fail")

drivers <- read.csv("drivers.csv", colClasses = c(stratum = "character", psu = "character",
                                                  province = "character"))
design <- svydesign(ids = ~psu, strata = ~stratum, fpc = ~fpc, weights = ~weight,
                    data = drivers)

fmt <- function(x) sprintf("%.17g", x)
out <- list()
put <- function(name, x) out[[name]] <<- as.numeric(x)

converged <- function(formula, design, fam, start = NULL) {
  eval(bquote(svyglm(.(formula), design, family = fam, start = .(start),
                     control = glm.control(epsilon = 1e-15, maxit = 100))))
}

fit_case <- function(name, design, formula, family) {
  fam <- if (family == "binomial") quasibinomial() else gaussian()
  first <- converged(formula, design, fam)
  fit <- converged(formula, design, fam, start = unname(coef(first)))
  stopifnot(fit$converged, fit$iter <= 2)
  s <- suppressWarnings(summary(fit))$coefficients
  put(paste0(name, "_est"), s[, 1])
  put(paste0(name, "_se"), s[, 2])
  put(paste0(name, "_t"), s[, 3])
  put(paste0(name, "_p"), s[, 4])
  put(paste0(name, "_df"), fit$df.residual)
  put(paste0(name, "_n"), length(fit$residuals))
}

gaussian_model <- outcome ~ S_A + S_B + S_C + S_D + S_E
binomial_model <- satisfied ~ S_A + S_B + S_C + S_D + S_E
fit_case("wave_gaussian", design, gaussian_model, "gaussian")
fit_case("wave_binomial", design, binomial_model, "binomial")
province <- subset(design, province == "01")
fit_case("province_gaussian", province, gaussian_model, "gaussian")
fit_case("province_binomial", province, binomial_model, "binomial")

vals <- do.call(rbind, lapply(names(out), function(nm)
  data.frame(name = nm, index = seq_along(out[[nm]]), value = fmt(out[[nm]]))))
write.csv(vals, "values.csv", row.names = FALSE, quote = FALSE)
