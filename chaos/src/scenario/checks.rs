//! `[thresholds]` and `[invariants]`: what the run must show.

use serde::Deserialize;
use toml::Spanned;

use std::str::FromStr;

use super::Validator;
use crate::checker::Invariant;
use loadgen::thresholds::is_saga_rule;
use loadgen::thresholds::SagaThreshold;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawThresholds {
    #[serde(default)]
    pub(super) rules: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawInvariants {
    pub(super) check: Vec<Spanned<String>>,
}

impl Validator<'_> {
    pub(super) fn thresholds(&mut self, raw: Option<&RawThresholds>) -> Option<Vec<String>> {
        let Some(raw) = raw else {
            return Some(Vec::new());
        };
        let mut ok = true;
        for (i, rule) in raw.rules.iter().enumerate() {
            let text = rule.get_ref().trim();
            let error = if crate::exposure::FaultRule::is_fault_rule(text) {
                crate::exposure::FaultRule::parse(text)
                    .err()
                    .map(|e| e.to_string())
            } else if is_saga_rule(text) {
                SagaThreshold::parse(text).err().map(|e| e.to_string())
            } else {
                match goose::threshold::Threshold::from_str(text) {
                    Ok(_) => None,
                    Err(goose::GooseError::InvalidOption { detail, .. }) => Some(detail),
                    Err(e) => Some(e.to_string()),
                }
            };
            if let Some(error) = error {
                self.problem(&rule.span(), format!("thresholds.rules[{i}]"), error);
                ok = false;
            }
        }
        ok.then(|| {
            raw.rules
                .iter()
                .map(|r| r.get_ref().trim().to_string())
                .collect()
        })
    }

    pub(super) fn invariants(&mut self, raw: Option<&RawInvariants>) -> Option<Vec<Invariant>> {
        let Some(raw) = raw else {
            return Some(Invariant::ALL.to_vec());
        };
        let mut out = Vec::new();
        let mut ok = true;
        for (i, name) in raw.check.iter().enumerate() {
            let field = format!("invariants.check[{i}]");
            match name.get_ref().parse::<Invariant>() {
                Ok(inv) if out.contains(&inv) => {
                    self.problem(&name.span(), field, format!("{inv} is listed twice"));
                    ok = false;
                }
                Ok(inv) => out.push(inv),
                Err(e) => {
                    self.problem(&name.span(), field, e);
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }
}
