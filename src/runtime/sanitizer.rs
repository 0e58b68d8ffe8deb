//! `[sanitization]` as the request path applies it: the input policy (X1: a request body is
//! screened before anything reads it, so every text a provider could see — messages, system
//! prompts, tool results, Anthropic content blocks, legacy prompts, fields the gateway does
//! not know — in every format and on the same-format pass-through alike), the output gate's
//! policy (X2: every answer, whole or streamed, before the client), and the classification a
//! request that carries credentials is raised to (X3). Built with the snapshot; pure.

use std::sync::Arc;

use crate::compliance::detectors::{Detector, Kind};
use crate::compliance::policy::{Direction, Noted, Policy};
use crate::compliance::scan::Scanner;
use crate::config::{Classification, SanitizationConfig};

/// `[sanitization]`, compiled.
#[derive(Debug, Clone, Default)]
pub struct Sanitization {
    /// Input sanitization, when `enabled` and any detector is selected.
    pub input: Option<Arc<Policy>>,
    /// The output gate, when `compliance_gate` and any detector is selected.
    pub output: Option<Arc<Policy>>,
    /// `max_classification`: the highest `x-data-classification` a request may declare, and
    /// the level a request is raised to when its input carries a credential.
    pub max_classification: Option<Classification>,
}

impl Sanitization {
    pub fn from_config(c: &SanitizationConfig) -> Result<Sanitization, String> {
        let input = if c.enabled {
            policy(c, Direction::Input)?
        } else {
            None
        };
        let output = if c.compliance_gate {
            policy(c, Direction::Output)?
        } else {
            None
        };
        Ok(Sanitization {
            input,
            output,
            max_classification: c.max_classification,
        })
    }

    /// The classification a request is routed under: its declared one, raised to
    /// `max_classification` when input sanitization found a credential in it (redacted or
    /// not: the prompt is about secrets). `Err` when the declared level is above
    /// `max_classification`.
    pub fn classification(
        &self,
        declared: Classification,
        noted: &[Noted],
    ) -> Result<Classification, Classification> {
        let Some(max) = self.max_classification else {
            return Ok(declared);
        };
        if declared > max {
            return Err(max);
        }
        if noted.iter().any(|n| n.credential) {
            return Ok(max);
        }
        Ok(declared)
    }
}

/// The policy of the detectors `[sanitization]` selects, with their actions.
fn policy(c: &SanitizationConfig, direction: Direction) -> Result<Option<Arc<Policy>>, String> {
    let wanted = |d: &Detector| match d.kind {
        Kind::Credential => c.scan_credentials,
        Kind::Pii if d.optional => c.ip_addresses,
        Kind::Pii => c.redact_pii,
    } || c.detectors.contains_key(d.id);
    let scanner = Scanner::new(wanted)?;
    if scanner.detectors().is_empty() {
        return Ok(None);
    }
    let actions = scanner
        .detectors()
        .iter()
        .map(|d| {
            c.detectors
                .get(d.id)
                .copied()
                .unwrap_or(c.compliance_action)
        })
        .collect();
    Ok(Some(Arc::new(Policy::new(scanner, actions, direction))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ComplianceAction;

    fn sanitization(extra: &str) -> Sanitization {
        let c: SanitizationConfig =
            toml::from_str(&format!("enabled = true\nredact_pii = true\n{extra}")).unwrap();
        Sanitization::from_config(&c).unwrap()
    }

    #[test]
    fn selection_and_actions_come_from_the_section() {
        let s = sanitization("[detectors]\nemail = \"block\"\nphone = \"log_only\"\n");
        let input = s.input.unwrap();
        assert!(s.output.is_none());
        let blocked = input.json(br#"{"a":"jane@example.com"}"#).unwrap_err();
        assert_eq!(blocked.detectors, vec!["email"]);
        let (out, noted) = input.json(br#"{"a":"call 555-123-4567"}"#).unwrap();
        assert!(out.is_none());
        assert_eq!(noted[0].action, ComplianceAction::LogOnly);
        assert_eq!(noted[0].direction, Direction::Input);
        // PII off: only credentials.
        let c: SanitizationConfig = toml::from_str("enabled = true").unwrap();
        let creds = Sanitization::from_config(&c).unwrap().input.unwrap();
        assert!(
            creds
                .json(br#"{"a":"jane@example.com"}"#)
                .unwrap()
                .1
                .is_empty()
        );
        let off: SanitizationConfig = toml::from_str("enabled = false").unwrap();
        let off = Sanitization::from_config(&off).unwrap();
        assert!(off.input.is_none() && off.output.is_none());
        let gate: SanitizationConfig = toml::from_str("compliance_gate = true").unwrap();
        let gate = Sanitization::from_config(&gate).unwrap();
        assert!(gate.input.is_none());
        assert!(gate.output.is_some());
    }

    #[test]
    fn a_credential_raises_the_classification_and_the_cap_holds() {
        let s = sanitization("max_classification = \"cui\"");
        let input = s.input.clone().unwrap();
        let (_, with_key) = input
            .json(br#"{"a":"sk-ant-abcdefghijklmnopqrstuvwxyz"}"#)
            .unwrap();
        let (_, with_mail) = input.json(br#"{"a":"jane@example.com"}"#).unwrap();
        assert_eq!(
            s.classification(Classification::Public, &with_key),
            Ok(Classification::Cui)
        );
        assert_eq!(
            s.classification(Classification::Public, &with_mail),
            Ok(Classification::Public)
        );
        assert_eq!(
            s.classification(Classification::Itar, &[]),
            Err(Classification::Cui)
        );
        let none = sanitization("");
        assert_eq!(
            none.classification(Classification::Classified, &with_key),
            Ok(Classification::Classified)
        );
    }
}
