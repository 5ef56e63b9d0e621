# Reference values for the core of analysis/ (design, Taylor variance,
# estimators, domains, intervals), computed with R's survey package.
#
# Run in this folder:   Rscript make_reference.R
# Writes:  apisrs.csv apistrat.csv apiclus1.csv apiclus2.csv  (R's api data,
#          with a few derived columns; doubles with 17 significant digits)
#          reference.csv  (one row per design x statistic x variable x domain x level)
#          extra.csv      (covariance matrices; domains of a post-stratified design)
#
# Every number is taken from survey's own functions: svymean, svytotal,
# svyratio (deff=TRUE), confint (normal and df=degf), svyciprop (logit, beta),
# degf; domains are subset(design, ...) exactly as svyby passes them (the
# script checks svyby gives the same estimates and SEs).

suppressMessages(library(survey))
data(api)
options(survey.lonely.psu = "fail", survey.adjust.domain.lonely = FALSE,
        survey.ultimate.cluster = FALSE)

fmt <- function(x) ifelse(is.na(x), NA, sprintf("%.17g", x))

# ---------------------------------------------------------------- the data
derive <- function(d) {
  d$yes <- as.numeric(d$sch.wide == "Yes")
  d$small_k3 <- ifelse(is.na(d$acs.k3), NA, as.numeric(d$acs.k3 <= 20))
  d$k3_cat <- cut(d$acs.k3, c(0, 19, 21, Inf), labels = c("small", "medium", "large"))
  d
}
apisrs <- derive(apisrs)
apisrs$frac <- 200 / apisrs$fpc
apistrat <- derive(apistrat)
apiclus1 <- derive(apiclus1)
# Strata for lonely-PSU designs: the largest district alone in stratum "C".
d1 <- sort(unique(apiclus1$dnum))
apiclus1$lstrat <- ifelse(apiclus1$dnum == max(d1), "C",
                          ifelse(apiclus1$dnum <= median(d1), "A", "B"))
apiclus1$lfpc <- c(A = 300, B = 400, C = 57)[apiclus1$lstrat]
apiclus1$lfpc_cert <- c(A = 300, B = 400, C = 1)[apiclus1$lstrat]
apiclus2 <- derive(apiclus2)
apiclus2$fpc1 <- as.numeric(apiclus2$fpc1)
apiclus2$fpc2 <- as.numeric(apiclus2$fpc2)
n2 <- ave(apiclus2$snum, apiclus2$dnum, FUN = length)
apiclus2$frac1 <- length(unique(apiclus2$dnum)) / apiclus2$fpc1
apiclus2$frac2 <- n2 / apiclus2$fpc2
# Districts where a single school was sampled out of 4: lonely at stage 2.
apiclus2$fpc2_lonely <- ifelse(apiclus2$fpc2 == 1, 4, apiclus2$fpc2)

export <- function(d, file) {
  out <- d
  for (col in names(out)) {
    if (is.double(out[[col]])) out[[col]] <- fmt(out[[col]])
    else if (is.factor(out[[col]])) out[[col]] <- as.character(out[[col]])
  }
  write.csv(out, file, row.names = FALSE, na = "")
}
export(apisrs, "apisrs.csv")
export(apistrat, "apistrat.csv")
export(apiclus1, "apiclus1.csv")
export(apiclus2, "apiclus2.csv")

# ------------------------------------------------------------- the designs
# Each is mirrored by DESIGNS in test_estimators_r.py.
designs <- list(
  srs = list(function() svydesign(id = ~1, weights = ~pw, fpc = ~fpc, data = apisrs), "fail"),
  srs_frac = list(function() svydesign(id = ~1, weights = ~pw, fpc = ~frac, data = apisrs), "fail"),
  srs_wr = list(function() svydesign(id = ~1, weights = ~pw, data = apisrs), "fail"),
  strat = list(function() svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc,
                                    data = apistrat), "fail"),
  strat_wr = list(function() svydesign(id = ~1, strata = ~stype, weights = ~pw,
                                       data = apistrat), "fail"),
  strat_nest = list(function() svydesign(id = ~dnum, strata = ~stype, weights = ~pw,
                                         data = apistrat, nest = TRUE), "fail"),
  clus1 = list(function() svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1), "fail"),
  clus1_wr = list(function() svydesign(id = ~dnum, weights = ~pw, data = apiclus1), "fail"),
  clus2 = list(function() svydesign(id = ~dnum + snum, weights = ~pw, fpc = ~fpc1 + fpc2,
                                    data = apiclus2), "fail"),
  clus2_frac = list(function() svydesign(id = ~dnum + snum, weights = ~pw, fpc = ~frac1 + frac2,
                                         data = apiclus2), "fail"),
  clus2_wr = list(function() svydesign(id = ~dnum + snum, weights = ~pw, data = apiclus2), "fail"),
  lonely_cert_fpc = list(function() svydesign(id = ~dnum, strata = ~lstrat, weights = ~pw,
                                              fpc = ~lfpc_cert, data = apiclus1), "fail")
)
for (policy in c("remove", "adjust", "average", "certainty")) {
  designs[[paste0("lonely_", policy)]] <- list(local({
    function() svydesign(id = ~dnum, strata = ~lstrat, weights = ~pw, data = apiclus1)
  }), policy)
  designs[[paste0("lonely_fpc_", policy)]] <- list(local({
    function() svydesign(id = ~dnum, strata = ~lstrat, weights = ~pw, fpc = ~lfpc,
                         data = apiclus1)
  }), policy)
  designs[[paste0("lonely2_", policy)]] <- list(local({
    function() svydesign(id = ~dnum + snum, weights = ~pw, fpc = ~fpc1 + fpc2_lonely,
                         data = apiclus2)
  }), policy)
}

# ------------------------------------------------------------ the statistics
# stat, variable, denominator
stats <- list(
  c("mean", "api00", ""),
  c("mean", "acs.k3", ""),
  c("total", "enroll", ""),
  c("ratio", "api.stu", "enroll"),
  c("proportion", "stype", ""),
  c("proportion", "k3_cat", ""),
  c("proportion", "yes", ""),
  c("proportion", "small_k3", "")
)
bys <- list(character(0), "comp.imp", "stype", c("stype", "comp.imp"))
levels_ <- c(0.95, 0.90)

rows <- list()
add_row <- function(...) rows[[length(rows) + 1]] <<- data.frame(..., stringsAsFactors = FALSE)

nan_ci <- c(NA, NA)

estimate_rows <- function(key, d, stat, var, den, domain_label, domain_rows) {
  f <- as.formula(paste0("~", var))
  x <- d$variables[[var]]
  answered <- !is.na(x)
  if (stat == "ratio") answered <- answered & !is.na(d$variables[[den]])
  if (sum(answered) == 0) return(invisible())
  df <- degf(d)
  if (stat == "mean" || (stat == "proportion" && var %in% c("yes", "small_k3"))) {
    m <- svymean(f, d, na.rm = TRUE, deff = TRUE)
  } else if (stat == "total") {
    m <- svytotal(f, d, na.rm = TRUE, deff = TRUE)
  } else if (stat == "ratio") {
    m <- svyratio(f, as.formula(paste0("~", den)), d, na.rm = TRUE, deff = TRUE)
  } else {
    m <- svymean(f, d, na.rm = TRUE, deff = TRUE)
  }
  est <- as.vector(coef(m))
  se <- as.vector(SE(m))
  deffs <- as.vector(if (stat == "ratio") attr(m, "deff") else deff(m))
  names_ <- if (stat == "ratio") paste0(var, "/", den)
            else if (stat == "proportion" && !(var %in% c("yes", "small_k3")))
              paste0(var, "=", levels(d$variables[[var]]))
            else var
  for (level in levels_) {
    wald <- confint(m, level = level)
    waldt <- confint(m, level = level, df = df)
    for (j in seq_along(est)) {
      logit <- nan_ci
      beta <- nan_ci
      if (stat == "proportion" && var %in% c("yes", "small_k3") && est[j] > 0 && est[j] < 1) {
        logit <- as.vector(attr(svyciprop(f, d, method = "logit", level = level, na.rm = TRUE), "ci"))
        beta <- as.vector(attr(svyciprop(f, d, method = "beta", level = level, na.rm = TRUE), "ci"))
      }
      add_row(design = key, stat = stat, variable = names_[j], domain = domain_label,
              level = level, estimate = fmt(est[j]), se = fmt(se[j]), deff = fmt(deffs[j]),
              df = df, n = sum(answered), n_domain = nrow(d),
              wald_low = fmt(wald[j, 1]), wald_high = fmt(wald[j, 2]),
              waldt_low = fmt(waldt[j, 1]), waldt_high = fmt(waldt[j, 2]),
              logit_low = fmt(logit[1]), logit_high = fmt(logit[2]),
              beta_low = fmt(beta[1]), beta_high = fmt(beta[2]))
    }
  }
}

for (key in names(designs)) {
  options(survey.lonely.psu = designs[[key]][[2]])
  des <- designs[[key]][[1]]()
  for (s in stats) {
    for (by in bys) {
      if (length(by) == 0) {
        estimate_rows(key, des, s[1], s[2], s[3], "", NULL)
        next
      }
      if (length(by) > 1 && s[1] != "mean") next
      byvals <- interaction(des$variables[by], drop = TRUE, sep = ";")
      for (lev in sort(unique(as.character(byvals[weights(des) != 0])))) {
        dom <- subset(des, as.character(byvals) == lev)
        parts <- strsplit(lev, ";", fixed = TRUE)[[1]]
        label <- paste(paste0(by, "=", parts), collapse = ";")
        estimate_rows(key, dom, s[1], s[2], s[3], label, NULL)
      }
    }
  }
}

# svyby passes the same subsets: check on two designs.
options(survey.lonely.psu = "average")
chk <- designs$lonely_average[[1]]()
a <- svyby(~api00, ~stype, chk, svymean)
b <- sapply(c("E", "H", "M"), function(l) SE(svymean(~api00, subset(chk, stype == l))))
stopifnot(isTRUE(all.equal(as.vector(SE(a)), as.vector(b), tolerance = 1e-14)))
options(survey.lonely.psu = "fail")
chk <- designs$clus2[[1]]()
a <- svyby(~enroll, ~comp.imp, chk, svytotal, na.rm = TRUE)
b <- sapply(c("No", "Yes"), function(l) SE(svytotal(~enroll, subset(chk, comp.imp == l), na.rm = TRUE)))
stopifnot(isTRUE(all.equal(as.vector(SE(a)), as.vector(b), tolerance = 1e-14)))

# ------------------------------------------- covariances and calibrated designs
# extra.csv: case, i, j, value (long format). Covariance matrices of svyby
# with covmat=TRUE and of a factor's proportions, and svyby domains of a
# post-stratified design (R keeps every row of a calibrated design in subset).
extra <- list()
add_matrix <- function(case, m) {
  m <- as.matrix(m)
  idx <- expand.grid(i = seq_len(nrow(m)), j = seq_len(ncol(m)))
  extra[[length(extra) + 1]] <<- data.frame(case = case, i = idx$i, j = idx$j,
                                            value = fmt(m[cbind(idx$i, idx$j)]))
}
options(survey.lonely.psu = "fail")
dclus1 <- designs$clus1[[1]]()
dclus2 <- designs$clus2[[1]]()
dstrat <- designs$strat[[1]]()
add_matrix("vcov_clus1_mean_api00_by_stype",
           vcov(svyby(~api00, ~stype, dclus1, svymean, covmat = TRUE)))
add_matrix("vcov_clus2_total_api00_by_comp.imp",
           vcov(svyby(~api00, ~comp.imp, dclus2, svytotal, covmat = TRUE)))
add_matrix("vcov_strat_proportion_stype", vcov(svymean(~stype, dstrat)))
add_matrix("vcov_clus1_proportion_k3_cat", vcov(svymean(~k3_cat, dclus1, na.rm = TRUE)))

pop_types <- data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018))
ps <- postStratify(dclus1, ~stype, pop_types)
for (lev in c("No", "Yes")) {
  dom <- subset(ps, comp.imp == lev)
  m <- svymean(~api00, dom, deff = TRUE)
  p <- svymean(~yes, dom, deff = TRUE)
  beta <- attr(svyciprop(~yes, dom, method = "beta"), "ci")
  logit <- attr(svyciprop(~yes, dom, method = "logit"), "ci")
  add_matrix(paste0("ps_comp.imp=", lev),
             rbind(c(coef(m), SE(m), deff(m), degf(dom), nrow(dom)),
                   c(coef(p), SE(p), deff(p), beta[1], beta[2]),
                   c(logit[1], logit[2], NA, NA, NA)))
}
write.csv(do.call(rbind, extra), "extra.csv", row.names = FALSE, na = "")

out <- do.call(rbind, rows)
write.csv(out, "reference.csv", row.names = FALSE, na = "")
cat("wrote", nrow(out), "reference rows with survey", as.character(packageVersion("survey")), "\n")
