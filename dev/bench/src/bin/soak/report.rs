//! The soak's markdown fragment for BENCHMARKS.md: requests by route and
//! status class, faults by kind, final job states, invariants.

use crate::faults::{FaultKind, Window, GRACE, LEAD, WEBHOOK_LEAD};
use crate::invariants::{Answer, Check};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

pub struct Summary<'a> {
    pub run: Duration,
    pub users: usize,
    pub sweep_every: Duration,
    pub drain: Duration,
    pub answers: &'a [Answer],
    pub windows: &'a [Window],
    pub jobs_by_status: &'a [(String, i64)],
    pub checks: &'a [Check],
}

#[derive(Default)]
struct Classes {
    total: usize,
    ok: usize,
    client_error: usize,
    throttled: usize,
    server_error: usize,
    unanswered: usize,
}

impl Classes {
    fn add(&mut self, status: Option<u16>) {
        self.total += 1;
        match status {
            Some(200..=399) => self.ok += 1,
            Some(429) => self.throttled += 1,
            Some(400..=499) => self.client_error += 1,
            Some(_) => self.server_error += 1,
            None => self.unanswered += 1,
        }
    }

    fn row(&self, name: &str) -> String {
        format!(
            "| {name} | {} | {} | {} | {} | {} | {} |\n",
            self.total, self.ok, self.client_error, self.throttled, self.server_error, self.unanswered
        )
    }
}

pub fn markdown(summary: &Summary<'_>) -> String {
    let mut out = String::new();
    let violations: usize = summary.checks.iter().map(|c| c.violations).sum();
    let faults = summary.windows.len();
    let requests = summary.answers.len();
    let _ = writeln!(
        out,
        "{} simulated users for {} s, then {} s of drain: **{requests} requests served** ({:.1}/s), \
         **{faults} faults injected**, **{violations} invariant violations** (target 0).\n",
        summary.users,
        summary.run.as_secs(),
        summary.drain.as_secs(),
        requests as f64 / (summary.run + summary.drain).as_secs_f64(),
    );

    let mut by_route: BTreeMap<&str, Classes> = BTreeMap::new();
    let mut total = Classes::default();
    for answer in summary.answers {
        by_route.entry(answer.route.as_str()).or_default().add(answer.status);
        total.add(answer.status);
    }
    out.push_str(
        "| route | requests | 2xx/3xx | 4xx | 429 | 5xx | no answer |\n| --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for (route, classes) in &by_route {
        out.push_str(&classes.row(&format!("`{route}`")));
    }
    out.push_str(&total.row("**all**"));

    let _ = writeln!(out, "\n| fault | times | total length | what |\n| --- | --- | --- | --- |");
    for kind in FaultKind::ALL {
        let windows: Vec<_> = summary.windows.iter().filter(|w| w.kind == kind).collect();
        let length: Duration = windows.iter().map(|w| w.end - w.start).sum();
        let _ = writeln!(out, "| {kind:?} | {} | {:.1} s | {} |", windows.len(), length.as_secs_f64(), kind.describe());
    }

    let _ = writeln!(out, "\n| job state at the end | jobs |\n| --- | --- |");
    for (status, count) in summary.jobs_by_status {
        let _ = writeln!(out, "| {status} | {count} |");
    }

    let _ = writeln!(out, "\n| invariant | checked | violations | note |\n| --- | --- | --- | --- |");
    for check in summary.checks {
        let note = check.note.as_deref().unwrap_or("");
        let _ = writeln!(out, "| {} | {} | {} | {note} |", check.name, check.checked, check.violations);
    }
    let _ = writeln!(out, "| **total** | | **{violations}** | |");
    let examples: Vec<_> = summary.checks.iter().flat_map(|c| c.examples.iter().map(move |e| (c.name, e))).collect();
    if !examples.is_empty() {
        let _ = writeln!(out, "\nFirst violations:\n");
        for (name, example) in examples {
            let _ = writeln!(out, "- {name}: {example}");
        }
    }
    let _ = writeln!(
        out,
        "\nSweeper every {} s; an error counts as the outage's from {} s before its window ({} s for webhooks, \
         timed when sent) to {} s after.",
        summary.sweep_every.as_secs(),
        LEAD.as_secs(),
        WEBHOOK_LEAD.as_secs(),
        GRACE.as_secs()
    );
    out
}
