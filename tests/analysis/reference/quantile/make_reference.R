# Reference values for tests/analysis/test_quantile_r.py: quantiles with
# Woodruff intervals, R's svyquantile (survey 4.1: the function rewritten in
# 4.1; the older one is oldsvyquantile), with its defaults:
#     svyquantile(~x, design, quantiles, alpha = 0.05, interval.type = "mean",
#                 qrule = "math", ci = TRUE)   and na.rm = TRUE
# and a few cases with interval.type "beta", "xlogit", "asin", qrule
# "school" and alpha = 0.1.
#
# Regenerate from this folder with:  Rscript make_reference.R
# (R >= 4.2, package survey 4.1; Debian: r-base-core r-cran-survey)
#
# Reads ../core/apisrs.csv, apistrat.csv, apiclus1.csv, apiclus2.csv (R's api
# data as ../core/make_reference.R exported it) and ../sipas/sipas.csv;
# writes values.csv (name,index,value). For each case, over its
# probabilities: <case>_est, <case>_low, <case>_high, <case>_se; and
# <case>_df (degf of the design restricted to the rows with a value, which
# svyquantile uses) and <case>_n (rows with a value).  Domains are
# subset(design, ...), as svyby passes them (checked below).
suppressMessages(library(survey))
options(survey.lonely.psu = "fail", survey.adjust.domain.lonely = FALSE,
        survey.ultimate.cluster = FALSE)

apisrs <- read.csv("../core/apisrs.csv", stringsAsFactors = FALSE)
apistrat <- read.csv("../core/apistrat.csv", stringsAsFactors = FALSE)
apiclus1 <- read.csv("../core/apiclus1.csv", stringsAsFactors = FALSE)
apiclus2 <- read.csv("../core/apiclus2.csv", stringsAsFactors = FALSE)
sipas <- read.csv("../sipas/sipas.csv", stringsAsFactors = FALSE)

fmt <- function(x) sprintf("%.17g", x)
out <- list()
put <- function(name, x) out[[name]] <<- as.numeric(x)

designs <- list(
  srs = function() svydesign(id = ~1, weights = ~pw, fpc = ~fpc, data = apisrs),
  strat = function() svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc,
                               data = apistrat),
  clus1 = function() svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1),
  clus2 = function() svydesign(id = ~dnum + snum, weights = ~pw, fpc = ~fpc1 + fpc2,
                               data = apiclus2),
  clus2_wr = function() svydesign(id = ~dnum + snum, weights = ~pw, data = apiclus2),
  # stratum "C" of lstrat holds a single district: a lonely PSU
  lonely = function() svydesign(id = ~dnum, strata = ~lstrat, weights = ~pw, data = apiclus1),
  sipas = function() svydesign(ids = ~desk + day, strata = ~province,
                               fpc = ~desks_total + days_total, weights = ~weight, data = sipas)
)

probs <- c(0.1, 0.25, 0.5, 0.75, 0.9)

# One case: quantiles of `variable` in `design` (already a domain, if any).
quantile_case <- function(name, design, variable, p = probs, ...) {
  f <- as.formula(paste0("~", variable))
  q <- svyquantile(f, design, p, na.rm = TRUE, ...)[[1]]
  put(paste0(name, "_est"), q[, 1])
  put(paste0(name, "_low"), q[, 2])
  put(paste0(name, "_high"), q[, 3])
  put(paste0(name, "_se"), q[, 4])
  answered <- !is.na(design$variables[[variable]])
  put(paste0(name, "_df"), degf(design[answered, ]))
  put(paste0(name, "_n"), sum(answered))
}

# Whole population and domains (one case per domain value).
cases <- list(
  c("srs", "api00", ""),
  c("strat", "api00", ""),
  c("strat", "api00", "comp.imp"),
  c("clus1", "api00", ""),
  c("clus1", "enroll", "stype"),
  c("clus2", "api00", ""),
  c("clus2", "enroll", ""),          # enroll is missing for some schools
  c("clus2", "api00", "stype"),
  c("clus2", "acs.k3", "comp.imp"),  # missing outside elementary schools
  c("clus2_wr", "api00", ""),
  c("sipas", "age", ""),
  c("sipas", "fee", "channel")       # fee is missing for some respondents
)
for (case in cases) {
  des <- designs[[case[1]]]()
  if (case[3] == "") {
    quantile_case(paste(case[1], case[2], sep = "_"), des, case[2])
    next
  }
  by <- case[3]
  for (lev in sort(unique(des$variables[[by]]))) {
    dom <- des[des$variables[[by]] == lev, ]
    quantile_case(paste(case[1], case[2], paste0(by, "=", lev), sep = "_"), dom, case[2])
  }
}

# A lonely PSU, under each policy that gives a variance.
for (policy in c("adjust", "average", "remove", "certainty")) {
  options(survey.lonely.psu = policy)
  quantile_case(paste0("lonely_", policy, "_api00"), designs$lonely(), "api00")
  options(survey.lonely.psu = "fail")
}

# The other interval types, the school rule, another level.
for (type in c("beta", "xlogit", "asin")) {
  quantile_case(paste0("clus1_api00_", type), designs$clus1(), "api00",
                interval.type = type)
  quantile_case(paste0("sipas_age_", type), designs$sipas(), "age", interval.type = type)
}
quantile_case("strat_api00_school", designs$strat(), "api00", qrule = "school")
quantile_case("sipas_age_school", designs$sipas(), "age", qrule = "school")
quantile_case("clus2_api00_alpha10", designs$clus2(), "api00", alpha = 0.1)

# svyby passes the same domains as subset
des <- designs$clus2()
a <- svyby(~api00, ~stype, des, svyquantile, quantiles = 0.5, ci = TRUE,
           vartype = c("se", "ci"))
b <- sapply(c("E", "H", "M"), function(l) {
  q <- svyquantile(~api00, des[des$variables$stype == l, ], 0.5)[[1]]
  c(q[1, 1], q[1, 4])
})
stopifnot(isTRUE(all.equal(unname(a[, 2]), unname(b[1, ]), tolerance = 1e-14)),
          isTRUE(all.equal(unname(a[, 3]), unname(b[2, ]), tolerance = 1e-14)))

vals <- do.call(rbind, lapply(names(out), function(nm)
  data.frame(name = nm, index = seq_along(out[[nm]]), value = fmt(out[[nm]]))))
write.csv(vals, "values.csv", row.names = FALSE, quote = FALSE)
cat("wrote", length(out), "vectors with survey", as.character(packageVersion("survey")), "\n")
