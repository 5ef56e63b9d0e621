# Reference values for tests/analysis/test_svyvar_ttest_r.py: R's svyvar (the
# variance of a variable) and svyttest (the difference of a mean between two
# groups).
#
# Regenerate from this folder with:  Rscript make_reference.R
# (R >= 4.2, package survey 4.1; Debian: r-base-core r-cran-survey)
#
# Reads ../core/apistrat.csv, apiclus1.csv, apiclus2.csv (R's api data as
# ../core/make_reference.R exported it) and ../sipas/sipas.csv; writes
# values.csv (name,index,value):
#   var_<design>_<variable>[_<by>=<value>]: estimate, SE, degf, nrow of
#       svyvar(~x, design, na.rm = TRUE), the domains as svyby passes them
#       (design[by == value, ]; checked against svyby below);
#   ttest_<design>_<variable>_<group>: t, df, difference, p-value, the
#       interval's ends and the standard error (difference / t) of
#       svyttest(x ~ group, design).
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

designs <- list(
  strat = function() svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc,
                               data = apistrat),
  clus1 = function() svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1),
  clus2 = function() svydesign(id = ~dnum + snum, weights = ~pw, fpc = ~fpc1 + fpc2,
                               data = apiclus2),
  # stratum "C" of lstrat holds a single district: a lonely PSU
  lonely = function() svydesign(id = ~dnum, strata = ~lstrat, weights = ~pw, data = apiclus1),
  sipas = function() svydesign(ids = ~desk + day, strata = ~province,
                               fpc = ~desks_total + days_total, weights = ~weight, data = sipas)
)
policy <- function(key) if (key == "lonely") "adjust" else "fail"

var_case <- function(name, design, variable) {
  v <- svyvar(as.formula(paste0("~", variable)), design, na.rm = TRUE)
  put(name, c(coef(v), SE(v), degf(design), nrow(design)))
}

# design, variable, by
var_cases <- list(
  c("strat", "api00", ""), c("strat", "acs.k3", "comp.imp"),
  c("clus1", "api00", ""), c("clus1", "enroll", "stype"),
  c("clus2", "api00", ""), c("clus2", "enroll", ""), c("clus2", "api00", "comp.imp"),
  c("lonely", "api00", ""), c("lonely", "api00", "stype"),
  c("sipas", "age", ""), c("sipas", "fee", "channel")
)
for (case in var_cases) {
  options(survey.lonely.psu = policy(case[1]))
  des <- designs[[case[1]]]()
  name <- paste("var", case[1], case[2], sep = "_")
  if (case[3] == "") {
    var_case(name, des, case[2])
  } else {
    for (lev in sort(unique(des$variables[[case[3]]]))) {
      var_case(paste0(name, "_", case[3], "=", lev), des[des$variables[[case[3]]] == lev, ],
               case[2])
    }
  }
  options(survey.lonely.psu = "fail")
}
des <- designs$clus1()
a <- svyby(~enroll, ~stype, des, svyvar, na.rm = TRUE)
b <- sapply(c("E", "H", "M"), function(l) {
  v <- svyvar(~enroll, des[des$variables$stype == l, ], na.rm = TRUE)
  c(coef(v), SE(v))
})
stopifnot(isTRUE(all.equal(unname(a[, 2]), unname(b[1, ]), tolerance = 1e-14)),
          isTRUE(all.equal(unname(a[, 3]), unname(b[2, ]), tolerance = 1e-14)))

# design, variable, group
ttest_cases <- list(
  c("strat", "api00", "comp.imp"), c("strat", "acs.k3", "comp.imp"),
  c("clus1", "api00", "sch.wide"), c("clus1", "api00", "yes"),
  c("clus2", "api00", "comp.imp"), c("clus2", "enroll", "comp.imp"),
  c("lonely", "api00", "comp.imp"),
  c("sipas", "fee", "gender"), c("sipas", "age", "paid")
)
for (case in ttest_cases) {
  options(survey.lonely.psu = policy(case[1]))
  des <- designs[[case[1]]]()
  t <- svyttest(as.formula(paste(case[2], "~", case[3])), des)
  put(paste("ttest", case[1], case[2], case[3], sep = "_"),
      c(t$statistic, t$parameter, t$estimate, t$p.value, t$conf.int[1], t$conf.int[2],
        t$estimate / t$statistic))
  options(survey.lonely.psu = "fail")
}

vals <- do.call(rbind, lapply(names(out), function(nm)
  data.frame(name = nm, index = seq_along(out[[nm]]), value = fmt(out[[nm]]))))
write.csv(vals, "values.csv", row.names = FALSE, quote = FALSE)
cat("wrote", length(out), "vectors with survey", as.character(packageVersion("survey")), "\n")
