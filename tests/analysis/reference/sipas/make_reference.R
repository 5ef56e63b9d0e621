# Reference values for the SIPAS index and the command line, from R's survey.
#
# Run from this folder after `python make_data.py`:
#     Rscript make_reference.R
# Writes index_reference.csv (SIPAS indices) and estimate_reference.csv
# (mean, total, proportion, ratio) with 17 significant digits.
#
# Item index: svymean(~I(item %in% satisfied), subset(design, !is.na(item)))
# (the same as na.rm=TRUE), with deff=TRUE.  Composite indices (dimensions,
# parts, overall): svycontrast of the item ratios satisfied/answered; each
# composite is checked against svyratio(covmat=TRUE) + a linear svycontrast.
# Domains: subset(design, channel == value), the same as svyby (checked).
# Intervals: Wald (normal), Wald-t on degf(domain design), logit as
# svyciprop(method="logit") with df = degf(domain design).
suppressMessages(library(survey))
options(survey.lonely.psu = "fail")

d <- read.csv("sipas.csv", stringsAsFactors = FALSE)
fmt <- function(x) ifelse(is.na(x), "", sprintf("%.17g", x))

dims <- list(a = c("a1", "a2", "a3"), b = c("b1", "b2", "b3", "b4"),
             c = c("c1", "c2", "c3"), d = c("d1", "d2", "d3"),
             e = c("e1", "e2", "e3"), pa = c("pa1", "pa2"),
             pb = c("pb1", "pb2"))
parts <- list(service = c("a", "b", "c", "d", "e"), policy = c("pa", "pb"))
items <- unlist(dims, use.names = FALSE)

logit_ci <- function(p, se, q) {
  p <- as.numeric(p)
  se <- as.numeric(se)
  plogis(qlogis(p) + c(-1, 1) * q * se / (p * (1 - p)))
}

# Add satisfied/answered indicator columns (and complete-case versions).
prepare <- function(data, satisfied) {
  for (it in items) {
    data[[paste0("s_", it)]] <- as.numeric(data[[it]] %in% satisfied)
    data[[paste0("n_", it)]] <- as.numeric(!is.na(data[[it]]))
  }
  for (k in names(dims)) {
    cc <- as.numeric(rowSums(is.na(data[dims[[k]]])) == 0)
    data[[paste0("cc_", k)]] <- cc
    for (it in dims[[k]]) data[[paste0("cs_", k, "_", it)]] <- data[[paste0("s_", it)]] * cc
  }
  data
}

make_design <- function(data, kind) {
  switch(kind,
    one = svydesign(ids = ~desk, strata = ~province, fpc = ~desks_total,
                    weights = ~weight, data = data),
    two = svydesign(ids = ~desk + day, strata = ~province,
                    fpc = ~desks_total + days_total, weights = ~weight, data = data),
    nofpc = svydesign(ids = ~desk_no, strata = ~province, nest = TRUE,
                      weights = ~weight, data = data))
}

# Expressions of every index in terms of the totals s_* / n_* (or cs_* / cc_*).
index_exprs <- function(complete_cases, use_parts) {
  ratio <- function(k, it) {
    if (complete_cases) sprintf("cs_%s_%s/cc_%s", k, it, k) else sprintf("s_%s/n_%s", it, it)
  }
  dim_txt <- sapply(names(dims), function(k) {
    sprintf("(%s)/%d", paste(sapply(dims[[k]], function(it) ratio(k, it)), collapse = "+"),
            length(dims[[k]]))
  })
  out <- as.list(dim_txt)
  if (use_parts) {
    part_txt <- sapply(names(parts), function(p) {
      sprintf("(%s)/%d", paste(sprintf("(%s)", dim_txt[parts[[p]]]), collapse = "+"),
              length(parts[[p]]))
    })
    out <- c(out, as.list(part_txt))
    out$overall <- sprintf("(%s)/%d", paste(sprintf("(%s)", part_txt), collapse = "+"),
                           length(parts))
  } else {
    out$overall <- sprintf("(%s)/%d", paste(sprintf("(%s)", dim_txt), collapse = "+"),
                           length(dims))
  }
  out
}

# Linear-contrast weights on the svyratio coefficients (cross-check).
contrast_weights <- function(complete_cases, use_parts, ratio_names) {
  rn <- function(k, it) {
    if (complete_cases) sprintf("cs_%s_%s/cc_%s", k, it, k) else sprintf("s_%s/n_%s", it, it)
  }
  dimw <- lapply(names(dims), function(k) {
    w <- setNames(rep(0, length(ratio_names)), ratio_names)
    w[sapply(dims[[k]], function(it) rn(k, it))] <- 1 / length(dims[[k]])
    w
  })
  names(dimw) <- names(dims)
  out <- dimw
  if (use_parts) {
    partw <- lapply(parts, function(p) Reduce(`+`, dimw[p]) / length(p))
    out <- c(out, partw)
    out$overall <- Reduce(`+`, partw) / length(partw)
  } else {
    out$overall <- Reduce(`+`, dimw) / length(dimw)
  }
  out
}

index_rows <- function(config, des, data, domain_label, in_domain, complete_cases,
                       use_parts, satisfied) {
  df <- degf(des)
  rows <- list()
  add <- function(variable, est, se, deff, n) {
    est <- as.numeric(est); se <- as.numeric(se); deff <- as.numeric(deff)
    ci_w <- est + c(-1, 1) * qnorm(0.975) * se
    ci_t <- est + c(-1, 1) * qt(0.975, df) * se
    ci_l <- logit_ci(est, se, qt(0.975, df))
    rows[[length(rows) + 1]] <<- data.frame(
      config = config, variable = variable, domain = domain_label,
      estimate = fmt(est), se = fmt(se), df = df, deff = fmt(deff), n = n,
      wald_low = fmt(ci_w[1]), wald_high = fmt(ci_w[2]),
      waldt_low = fmt(ci_t[1]), waldt_high = fmt(ci_t[2]),
      logit_low = fmt(ci_l[1]), logit_high = fmt(ci_l[2]))
  }
  for (it in items) {
    sub <- eval(bquote(subset(des, !is.na(.(as.name(it))))))
    f <- as.formula(sprintf("~I(%s %%in%% c(%s))", it, paste(satisfied, collapse = ",")))
    m <- svymean(f, sub, deff = TRUE)
    n <- sum(in_domain & !is.na(data[[it]]))
    add(it, coef(m)[2], SE(m)[2], deff(m)[2], n)
  }
  exprs <- index_exprs(complete_cases, use_parts)
  if (complete_cases) {
    num <- unlist(lapply(names(dims), function(k) paste0("cs_", k, "_", dims[[k]])))
    den <- paste0("cc_", names(dims))
  } else {
    num <- paste0("s_", items)
    den <- paste0("n_", items)
  }
  tot <- svytotal(as.formula(paste("~", paste(c(num, den), collapse = "+"))), des)
  con <- svycontrast(tot, lapply(exprs, function(e) parse(text = e)[[1]]))
  # cross-check with svyratio(covmat=TRUE) and a linear svycontrast (slow for
  # the two-stage design, so only on the one-stage designs)
  if (length(des$cluster) == 1) {
    r <- svyratio(as.formula(paste("~", paste(num, collapse = "+"))),
                  as.formula(paste("~", paste(den, collapse = "+"))), des, covmat = TRUE)
    con2 <- svycontrast(r, contrast_weights(complete_cases, use_parts, names(coef(r))))
    stopifnot(isTRUE(all.equal(unname(coef(con)), unname(coef(con2)), tolerance = 1e-12)),
              isTRUE(all.equal(unname(SE(con)), unname(SE(con2)), tolerance = 1e-10)))
  }
  # n of a composite: rows of the domain that enter any of its denominators
  answered <- function(k) {
    if (complete_cases) rowSums(is.na(data[dims[[k]]])) == 0
    else rowSums(!is.na(data[dims[[k]]])) > 0
  }
  comp_n <- lapply(names(dims), answered)
  names(comp_n) <- names(dims)
  if (use_parts) {
    for (p in names(parts)) comp_n[[p]] <- Reduce(`|`, comp_n[parts[[p]]])
    comp_n$overall <- Reduce(`|`, comp_n[names(parts)])
  } else {
    comp_n$overall <- Reduce(`|`, comp_n[names(dims)])
  }
  for (v in names(exprs)) {
    add(v, coef(con)[[v]], SE(con)[[v]], NA, sum(in_domain & comp_n[[v]]))
  }
  do.call(rbind, rows)
}

index_config <- function(config, kind, by = NULL, complete_cases = FALSE,
                         use_parts = TRUE, satisfied = c(4, 5)) {
  data <- prepare(d, satisfied)
  des <- make_design(data, kind)
  if (is.null(by)) {
    return(index_rows(config, des, data, "", rep(TRUE, nrow(data)), complete_cases,
                      use_parts, satisfied))
  }
  out <- list()
  for (value in sort(unique(data[[by]]))) {
    in_domain <- data[[by]] == value
    sub <- subset(des, in_domain)
    out[[value]] <- index_rows(config, sub, data, paste0(by, "=", value), in_domain,
                               complete_cases, use_parts, satisfied)
  }
  # svyby gives the same item indices and SEs as the subsets
  chk <- svyby(~I(a1 %in% satisfied), as.formula(paste0("~", by)),
               subset(des, !is.na(a1)), svymean, deff = TRUE)
  mine <- do.call(rbind, out)
  mine <- mine[mine$variable == "a1", ]
  stopifnot(isTRUE(all.equal(as.numeric(mine$estimate), unname(chk[, 3]), tolerance = 1e-12)),
            isTRUE(all.equal(as.numeric(mine$se), unname(chk[, 5]), tolerance = 1e-10)))
  do.call(rbind, out)
}

index_ref <- rbind(
  index_config("one", "one"),
  index_config("one_by_channel", "one", by = "channel"),
  index_config("one_by_province", "one", by = "province"),
  index_config("two", "two"),
  index_config("two_by_channel", "two", by = "channel"),
  index_config("nofpc_cc_noparts_sat5", "nofpc", complete_cases = TRUE, use_parts = FALSE,
               satisfied = 5),
  index_config("nofpc_cc_by_gender", "nofpc", by = "gender", complete_cases = TRUE)
)
write.csv(index_ref, "index_reference.csv", row.names = FALSE, quote = TRUE, na = "")

# ---- estimate command: mean, total, proportion, ratio ----
est_rows <- list()
est_add <- function(config, variable, domain, est, se, df, deff, n,
                    extra = list(logit = c(NA, NA), beta = c(NA, NA))) {
  est <- as.numeric(est); se <- as.numeric(se); deff <- as.numeric(deff)
  if (is.null(extra$logit)) extra$logit <- c(NA, NA)
  if (is.null(extra$beta)) extra$beta <- c(NA, NA)
  ci_w <- est + c(-1, 1) * qnorm(0.975) * se
  ci_t <- est + c(-1, 1) * qt(0.975, df) * se
  row <- data.frame(config = config, variable = variable, domain = domain,
                    estimate = fmt(est), se = fmt(se), df = df, deff = fmt(deff), n = n,
                    wald_low = fmt(ci_w[1]), wald_high = fmt(ci_w[2]),
                    waldt_low = fmt(ci_t[1]), waldt_high = fmt(ci_t[2]),
                    logit_low = fmt(extra$logit[1]), logit_high = fmt(extra$logit[2]),
                    beta_low = fmt(extra$beta[1]), beta_high = fmt(extra$beta[2]))
  est_rows[[length(est_rows) + 1]] <<- row
}
des <- make_design(d, "one")
by_domains <- function(by) {
  if (is.null(by)) return(list(list(label = "", keep = rep(TRUE, nrow(d)))))
  keys <- unique(d[by])
  keys <- keys[do.call(order, keys), , drop = FALSE]
  lapply(seq_len(nrow(keys)), function(i) {
    keep <- Reduce(`&`, lapply(by, function(b) d[[b]] == keys[i, b]))
    list(label = paste(paste0(by, "=", unlist(keys[i, ])), collapse = ";"), keep = keep)
  })
}
for (by in list(NULL, "channel", c("channel", "gender"))) {
  tag <- if (is.null(by)) "" else paste0("_by_", paste(by, collapse = "_"))
  for (dom in by_domains(by)) {
    sub <- if (is.null(by)) des else subset(des, dom$keep)
    df <- degf(sub)
    m <- svymean(~age, sub, na.rm = TRUE, deff = TRUE)
    est_add(paste0("mean_age", tag), "age", dom$label, coef(m), SE(m), df, deff(m),
            sum(dom$keep & !is.na(d$age)))
    t <- svytotal(~fee, sub, na.rm = TRUE, deff = TRUE)
    est_add(paste0("total_fee", tag), "fee", dom$label, coef(t), SE(t), df, deff(t),
            sum(dom$keep & !is.na(d$fee)))
    p <- svymean(~paid, sub, deff = TRUE)
    q <- qt(0.975, df)
    lg <- attr(svyciprop(~paid, sub, method = "logit", df = df), "ci")
    bt <- attr(svyciprop(~paid, sub, method = "beta", df = df), "ci")
    stopifnot(isTRUE(all.equal(unname(lg), logit_ci(coef(p), SE(p), q), tolerance = 1e-7)))
    est_add(paste0("proportion_paid", tag), "paid", dom$label, coef(p), SE(p), df, deff(p),
            sum(dom$keep), list(logit = logit_ci(coef(p), SE(p), q), beta = bt))
    cat_var <- setdiff(c("channel", "gender"), by)[1]
    levs <- if (is.na(cat_var)) character(0) else sort(unique(d[[cat_var]]))
    if (length(levs)) ch <- svymean(as.formula(paste0("~factor(", cat_var, ")")), sub, deff = TRUE)
    for (lev in levs) {
      key <- paste0("factor(", cat_var, ")", lev)
      pe <- coef(ch)[[key]]; se <- SE(ch)[[key]]
      bt <- attr(svyciprop(as.formula(sprintf("~I(%s == '%s')", cat_var, lev)), sub,
                           method = "beta", df = df), "ci")
      est_add(paste0("proportion_", cat_var, tag), paste0(cat_var, "=", lev), dom$label, pe, se,
              df, deff(ch)[[key]], sum(dom$keep),
              list(logit = if (pe > 0 && pe < 1) logit_ci(pe, se, q) else c(NA, NA),
                   beta = bt))
    }
    both <- subset(sub, !is.na(fee) & !is.na(age))
    r <- svyratio(~fee, ~age, both, deff = TRUE)
    est_add(paste0("ratio_fee_age", tag), "fee/age", dom$label, coef(r), SE(r), df,
            deff(r), sum(dom$keep & !is.na(d$fee) & !is.na(d$age)))
  }
}
write.csv(do.call(rbind, est_rows), "estimate_reference.csv", row.names = FALSE,
          quote = TRUE, na = "")
