# Reference values for tests/analysis/test_table_r.py: two-way tables and
# the Rao-Scott test, computed with R's survey package and its defaults.
#
# Regenerate from this folder with:  Rscript make_reference.R
# (R >= 4.2, package survey >= 4.1; Debian: r-base-core r-cran-survey)
#
# Writes
#   apistrat.csv, apiclus1.csv, apiclus2.csv   the data: selected columns of
#                                              R's api data, with k3_cat
#                                              (missing where acs.k3 is) and
#                                              lstrat (a stratum, "C", with a
#                                              single PSU)
#   apistrat_means.csv                         apistrat's columns for means_*
#   values.csv                                 name,value; 17 significant digits
#
# The SIPAS-like data is ../sipas/sipas.csv (made by ../sipas/make_data.py).
#
# For each case (a design, a row variable, a column variable), with the
# design's lonely-PSU option set:
#   svychisq(~row + col, design)                    statistic, ndf, ddf, p-value
#   chisq.test(svytable(~row + col, design, Ntotal = nrow))   Pearson's X^2
#   svytable(~row + col, design)                    weighted counts
#   svymean(~interaction(row, col), design, na.rm = TRUE)     proportions, vcov
#   svyby(~col, ~row, design, svymean, na.rm = TRUE)          row proportions
# Cells are written row by row (row-major); categories are sorted in the C
# locale, as Python sorts text (k3_cat too: large, medium, small).
suppressMessages(library(survey))
data(api)
options(survey.lonely.psu = "fail", survey.adjust.domain.lonely = FALSE,
        survey.ultimate.cluster = FALSE)
fmt <- function(x) ifelse(is.na(x), NA, sprintf("%.17g", x))

derive <- function(d) {
  d$k3_cat <- as.character(cut(d$acs.k3, c(0, 19, 21, Inf),
                               labels = c("small", "medium", "large")))
  d
}
apistrat <- derive(apistrat)
apiclus1 <- derive(apiclus1)
apiclus2 <- derive(apiclus2)
d1 <- sort(unique(apiclus1$dnum))
apiclus1$lstrat <- ifelse(apiclus1$dnum == max(d1), "C",
                          ifelse(apiclus1$dnum <= median(d1), "A", "B"))
apiclus2$fpc1 <- as.numeric(apiclus2$fpc1)
apiclus2$fpc2 <- as.numeric(apiclus2$fpc2)

keep <- c("snum", "dnum", "stype", "sch.wide", "comp.imp", "both", "awards", "yr.rnd",
          "k3_cat", "pw")
write_data <- function(d, file) {
  d[] <- lapply(d, function(x) if (is.factor(x)) as.character(x)
                else if (is.double(x)) fmt(x) else x)
  write.csv(d, file, row.names = FALSE, na = "")
}
write_data(apistrat[, c(keep, "fpc")], "apistrat.csv")
write_data(apiclus1[, c(keep, "fpc", "lstrat")], "apiclus1.csv")
write_data(apiclus2[, c(keep, "fpc1", "fpc2")], "apiclus2.csv")
sipas <- read.csv("../sipas/sipas.csv", colClasses = c(province = "character",
                  desk = "character", day = "character"))

# Categories as Python sorts them (C locale); no unused level.
as_factor <- function(x) factor(x, levels = sort(unique(x[!is.na(x)]), method = "radix"))

# name: a function making the design, the lonely-PSU option, row, col.
# Each is mirrored by CASES in test_table_r.py.
strat <- function() svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc,
                              data = apistrat)
strat_wr <- function() svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat)
clus1 <- function() svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)
clus1_wr <- function() svydesign(id = ~dnum, weights = ~pw, data = apiclus1)
clus2 <- function() svydesign(id = ~dnum + snum, weights = ~pw, fpc = ~fpc1 + fpc2,
                              data = apiclus2)
lonely <- function() svydesign(id = ~dnum, strata = ~lstrat, weights = ~pw, data = apiclus1)
domain <- function() subset(clus1(), stype != "H")
strat_domain <- function() subset(strat(), comp.imp == "Yes")
jk1 <- function() as.svrepdesign(clus1(), type = "JK1")
poststrat <- function() postStratify(clus1(), ~stype,
                                     data.frame(stype = c("E", "H", "M"),
                                                Freq = c(4421, 755, 1018)))
sipas1 <- function() svydesign(id = ~desk, strata = ~province, weights = ~weight,
                               fpc = ~desks_total, data = sipas)
sipas2 <- function() svydesign(id = ~desk + day, strata = ~province, weights = ~weight,
                               fpc = ~desks_total + days_total, data = sipas)
sipas_nest <- function() svydesign(id = ~desk_no, strata = ~province, weights = ~weight,
                                   nest = TRUE, data = sipas)
cases <- list(
  strat_2x2 = list(strat, "fail", "sch.wide", "comp.imp"),
  strat_3x2 = list(strat, "fail", "stype", "awards"),
  strat_missing = list(strat, "fail", "awards", "k3_cat"),
  strat_wr_missing = list(strat_wr, "fail", "k3_cat", "both"),
  clus1 = list(clus1, "fail", "stype", "sch.wide"),
  clus1_missing = list(clus1, "fail", "k3_cat", "awards"),
  clus1_wr = list(clus1_wr, "fail", "stype", "yr.rnd"),
  clus2 = list(clus2, "fail", "stype", "both"),
  clus2_missing = list(clus2, "fail", "comp.imp", "k3_cat"),
  lonely_adjust = list(lonely, "adjust", "stype", "awards"),
  lonely_average = list(lonely, "average", "stype", "awards"),
  lonely_remove = list(lonely, "remove", "sch.wide", "k3_cat"),
  lonely_certainty = list(lonely, "certainty", "stype", "awards"),
  domain = list(domain, "fail", "stype", "awards"),
  strat_domain = list(strat_domain, "fail", "stype", "sch.wide"),
  jk1 = list(jk1, "fail", "stype", "awards"),
  poststrat = list(poststrat, "fail", "sch.wide", "awards"),
  sipas_channel_gender = list(sipas1, "fail", "channel", "gender"),
  sipas_province_a1 = list(sipas1, "fail", "province", "a1"),
  sipas_two_stage = list(sipas2, "fail", "channel", "a2"),
  sipas_nest = list(sipas_nest, "fail", "gender", "e3")
)

out <- list()
put <- function(name, x) out[[name]] <<- as.numeric(x)

for (key in names(cases)) {
  case <- cases[[key]]
  options(survey.lonely.psu = case[[2]])
  d <- case[[1]]()
  rv <- case[[3]]
  cv <- case[[4]]
  d <- update(d, .row = as_factor(d$variables[[rv]]), .col = as_factor(d$variables[[cv]]))
  nr <- nlevels(d$variables$.row)
  nc <- nlevels(d$variables$.col)
  rowmajor <- as.vector(t(matrix(seq_len(nr * nc), nr, nc)))  # column-major index, row by row

  test <- svychisq(~.row + .col, d)
  put(paste0(key, "_statistic"), test$statistic)
  put(paste0(key, "_ndf"), test$parameter["ndf"])
  put(paste0(key, "_ddf"), test$parameter["ddf"])
  put(paste0(key, "_p_value"), test$p.value)
  n_all <- nrow(d$variables)
  pearson <- suppressWarnings(chisq.test(svytable(~.row + .col, d, Ntotal = n_all),
                                         correct = FALSE))
  put(paste0(key, "_pearson"), pearson$statistic)
  put(paste0(key, "_total"), t(as.matrix(unclass(svytable(~.row + .col, d)))))

  m <- svymean(~interaction(.row, .col), d, na.rm = TRUE)
  put(paste0(key, "_proportion"), coef(m)[rowmajor])
  put(paste0(key, "_proportion_se"), SE(m)[rowmajor])
  put(paste0(key, "_covariance"), vcov(m)[rowmajor, rowmajor])

  b <- svyby(~.col, ~.row, d, svymean, na.rm = TRUE)
  stopifnot(identical(names(coef(b)),
                      as.vector(outer(levels(d$variables$.row),
                                      paste0(".col", levels(d$variables$.col)), paste,
                                      sep = ":"))))
  put(paste0(key, "_row_proportion"), t(matrix(coef(b), nr, nc)))
  put(paste0(key, "_row_proportion_se"), t(as.matrix(SE(b))))
}
options(survey.lonely.psu = "fail")

# mean() of several variables: R's svymean of a sum, over the complete cases
# (acs.k3 is missing for high schools), whole and by comp.imp (svyby).
keep <- c("api00", "acs.k3")
apistrat_means <- apistrat[, c("stype", "comp.imp", "pw", "fpc", keep)]
write_data(apistrat_means, "apistrat_means.csv")
d <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat_means)
m <- svymean(~api00 + acs.k3, d, na.rm = TRUE, deff = TRUE)
put("means_estimate", coef(m))
put("means_se", SE(m))
put("means_deff", deff(m))
put("means_vcov", vcov(m))
b <- svyby(~api00 + acs.k3, ~comp.imp, d, svymean, na.rm = TRUE, deff = TRUE)
stopifnot(identical(names(coef(b)), c("No:api00", "Yes:api00", "No:acs.k3", "Yes:acs.k3")))
put("means_by_estimate", t(matrix(coef(b), 2, 2)))
put("means_by_se", t(matrix(as.matrix(SE(b)), 2, 2)))
put("means_by_deff", t(matrix(as.matrix(deff(b)), 2, 2)))

values <- do.call(rbind, lapply(names(out), function(n)
  data.frame(name = n, value = fmt(out[[n]]))))
write.csv(values, "values.csv", row.names = FALSE, na = "")
cat("wrote", length(out), "vectors with survey", as.character(packageVersion("survey")), "\n")
