# Reference values for tests/analysis/test_subset_r.py: estimates on
# subset(design, ...), R's domain estimation that keeps the design's PSUs.
#
# Regenerate from this folder with:  Rscript make_reference.R
# (R >= 4.2, package survey 4.1; Debian: r-base-core r-cran-survey)
#
# Reads ../core/apistrat.csv, apiclus1.csv, apiclus2.csv (R's api data as
# ../core/make_reference.R exported it) and ../sipas/sipas.csv; writes
# values.csv (name,index,value). For each case (a design and a subset
# expression): <case>_df (degf of the subset), <case>_nrow (its rows), and
# for each statistic <case>_<stat>_<variable>_est, _se, _deff (vectors over
# the levels of a factor), all with na.rm = TRUE and deff = TRUE:
#     svymean(~api00), svymean(~acs.k3) (missing values), svytotal(~enroll)
#     (missing in apiclus2), svyratio(~api.stu, ~enroll), svymean(~stype)
#     (a factor's proportions), svymean(~yes) (an indicator)
# and on the SIPAS-like data the index of items a1..a3 and b1..b4 (share of
# answers 4 or 5 among the answers), their dimensions a and b (the mean of
# their items' indices) and the overall index (the mean of a and b), as
# svycontrast of the totals of the satisfied/answered indicators.
# jk1_clus1_yes, jkn_strat_high: svymean(~api00) and its SE on
# as.svrepdesign(subset(...)), the replicate design of a subset.
suppressMessages(library(survey))
options(survey.lonely.psu = "fail", survey.adjust.domain.lonely = FALSE,
        survey.ultimate.cluster = FALSE)

apistrat <- read.csv("../core/apistrat.csv", stringsAsFactors = FALSE)
apiclus1 <- read.csv("../core/apiclus1.csv", stringsAsFactors = FALSE)
apiclus2 <- read.csv("../core/apiclus2.csv", stringsAsFactors = FALSE)
sipas <- read.csv("../sipas/sipas.csv", stringsAsFactors = FALSE)
for (d in c("apistrat", "apiclus1", "apiclus2")) {
  x <- get(d)
  x$stype <- factor(x$stype)
  assign(d, x)
}

fmt <- function(x) sprintf("%.17g", x)
out <- list()
put <- function(name, x) out[[name]] <<- as.numeric(x)

strat <- function() svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc,
                              data = apistrat)
clus1 <- function() svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)
clus2 <- function() svydesign(id = ~dnum + snum, weights = ~pw, fpc = ~fpc1 + fpc2,
                              data = apiclus2)
# stratum "C" of lstrat holds a single district: a lonely PSU
lonely <- function() svydesign(id = ~dnum, strata = ~lstrat, weights = ~pw, data = apiclus1)

api_case <- function(name, design) {
  put(paste0(name, "_df"), degf(design))
  put(paste0(name, "_nrow"), nrow(design))
  stat <- function(label, m, d = deff(m)) {
    put(paste0(name, "_", label, "_est"), coef(m))
    put(paste0(name, "_", label, "_se"), SE(m))
    put(paste0(name, "_", label, "_deff"), d)
  }
  stat("mean_api00", svymean(~api00, design, deff = TRUE))
  stat("mean_acs.k3", svymean(~acs.k3, design, na.rm = TRUE, deff = TRUE))
  stat("total_enroll", svytotal(~enroll, design, na.rm = TRUE, deff = TRUE))
  r <- svyratio(~api.stu, ~enroll, design, na.rm = TRUE, deff = TRUE)
  stat("ratio_api.stu", r, attr(r, "deff"))
  stat("proportion_stype", svymean(~stype, design, deff = TRUE))
  stat("proportion_yes", svymean(~yes, design, deff = TRUE))
}

# name: design, policy, subset (the same expressions in test_subset_r.py)
api_case("strat_high", subset(strat(), api00 > 600))
api_case("strat_E", subset(strat(), stype == "E"))
api_case("clus1_yes", subset(clus1(), comp.imp == "Yes"))
api_case("clus2_big", subset(clus2(), enroll > 400))        # enroll is NA for some schools
api_case("clus2_EM", subset(clus2(), stype %in% c("E", "M") & api00 >= 650))
options(survey.lonely.psu = "average")
api_case("lonely_average_low", subset(lonely(), api00 < 700))
options(survey.lonely.psu = "adjust")
api_case("lonely_adjust_low", subset(lonely(), api00 < 700))
options(survey.lonely.psu = "fail")
# the lonely stratum left out: no error under "fail"
api_case("lonely_fail_noC", subset(lonely(), lstrat != "C"))

# replicate designs made from a subset count the PSUs it has (as.svrepdesign)
m <- svymean(~api00, as.svrepdesign(subset(clus1(), comp.imp == "Yes"), type = "JK1"))
put("jk1_clus1_yes", c(coef(m), SE(m)))
nested <- svydesign(id = ~dnum, strata = ~stype, weights = ~pw, data = apistrat, nest = TRUE)
m <- svymean(~api00, as.svrepdesign(subset(nested, api00 > 650), type = "JKn"))
put("jkn_strat_high", c(coef(m), SE(m)))

# ------------------------------------------------------------- SIPAS-like
dims <- list(a = c("a1", "a2", "a3"), b = c("b1", "b2", "b3", "b4"))
items <- unlist(dims, use.names = FALSE)
for (it in items) {
  sipas[[paste0("s_", it)]] <- as.numeric(sipas[[it]] %in% c(4, 5))
  sipas[[paste0("n_", it)]] <- as.numeric(!is.na(sipas[[it]]))
}
sipas2 <- function() svydesign(ids = ~desk + day, strata = ~province,
                               fpc = ~desks_total + days_total, weights = ~weight, data = sipas)

sipas_case <- function(name, design) {
  put(paste0(name, "_df"), degf(design))
  put(paste0(name, "_nrow"), nrow(design))
  stat <- function(label, m, d = deff(m)) {
    put(paste0(name, "_", label, "_est"), coef(m))
    put(paste0(name, "_", label, "_se"), SE(m))
    put(paste0(name, "_", label, "_deff"), d)
  }
  stat("mean_age", svymean(~age, design, na.rm = TRUE, deff = TRUE))
  stat("total_fee", svytotal(~fee, design, na.rm = TRUE, deff = TRUE))
  r <- svyratio(~fee, ~age, design, na.rm = TRUE, deff = TRUE)
  stat("ratio_fee", r, attr(r, "deff"))
  stat("proportion_gender", svymean(~factor(gender), design, na.rm = TRUE, deff = TRUE))
  tot <- svytotal(as.formula(paste("~", paste(c(paste0("s_", items), paste0("n_", items)),
                                              collapse = "+"))), design)
  item_expr <- sapply(items, function(it) sprintf("s_%s/n_%s", it, it))
  dim_expr <- sapply(names(dims), function(k) {
    sprintf("(%s)/%d", paste(item_expr[dims[[k]]], collapse = "+"), length(dims[[k]]))
  })
  exprs <- c(item_expr, dim_expr,
             overall = sprintf("(%s)/%d", paste(sprintf("(%s)", dim_expr), collapse = "+"),
                               length(dims)))
  con <- svycontrast(tot, lapply(exprs, function(e) parse(text = e)[[1]]))
  put(paste0(name, "_index_est"), coef(con))
  put(paste0(name, "_index_se"), SE(con))
}
sipas_case("sipas_HN", subset(sipas2(), province == "HN"))
sipas_case("sipas_qr_old", subset(sipas2(), channel == "qr" & age >= 50))

vals <- do.call(rbind, lapply(names(out), function(nm)
  data.frame(name = nm, index = seq_along(out[[nm]]), value = fmt(out[[nm]]))))
write.csv(vals, "values.csv", row.names = FALSE, quote = FALSE)
cat("wrote", length(out), "vectors with survey", as.character(packageVersion("survey")), "\n")
