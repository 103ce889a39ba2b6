//! The sensitive-path set the kernel filters file opens with.
//!
//! A rule names the last three components of a path (grandparent, parent, leaf), each either
//! an exact name or `*`. The kernel tries, in order, `{g,p,l}`, `{*,p,l}`, `{*,p,*}`, `{g,p,*}`
//! and `{*,*,l}`. Names are at most 31 bytes. Credential rules report every open; persistence
//! rules report opens for writing only (which includes creation).

use crate::raw::{
    NameKey, PathKey, CLASS_CREDENTIAL, CLASS_PERSISTENCE, KEY_NAME, NAME_LEAF, NAME_WILD_PARENT,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathRule {
    pub gparent: String,
    pub parent: String,
    pub leaf: String,
    /// `raw::CLASS_CREDENTIAL` or `raw::CLASS_PERSISTENCE`.
    pub class: u32,
}

fn name_bytes(s: &str) -> [u8; KEY_NAME] {
    let mut out = [0u8; KEY_NAME];
    let b = s.as_bytes();
    let n = b.len().min(KEY_NAME - 1);
    out[..n].copy_from_slice(&b[..n]);
    out
}

impl PathRule {
    pub fn new(gparent: &str, parent: &str, leaf: &str, class: u32) -> Result<Self, String> {
        for n in [gparent, parent, leaf] {
            if n.is_empty() || n.len() >= KEY_NAME || n.contains('/') || n.contains('\0') {
                return Err(format!(
                    "path rule name {n:?}: must be 1..=31 bytes, no '/' or NUL"
                ));
            }
        }
        if class != CLASS_CREDENTIAL && class != CLASS_PERSISTENCE {
            return Err(format!(
                "path rule class {class}: must be 1 (credential) or 2 (persistence)"
            ));
        }
        Ok(PathRule {
            gparent: gparent.into(),
            parent: parent.into(),
            leaf: leaf.into(),
            class,
        })
    }

    pub(crate) fn key(&self) -> PathKey {
        PathKey {
            gparent: name_bytes(&self.gparent),
            parent: name_bytes(&self.parent),
            leaf: name_bytes(&self.leaf),
        }
    }
}

/// The kernel's first test of an open (`path_names`): every name that is some rule's leaf
/// ([`NAME_LEAF`]), or the parent of a rule whose leaf is `*` ([`NAME_WILD_PARENT`]). Each of
/// the keys the kernel tries has a named leaf or a named parent under a `*` leaf, so an open
/// whose leaf and parent are in neither set matches no rule.
pub(crate) fn first_test_names(rules: &[PathRule]) -> Vec<(NameKey, u32)> {
    let mut out: Vec<(NameKey, u32)> = Vec::new();
    for r in rules {
        let (name, flag) = if r.leaf == "*" {
            (&r.parent, NAME_WILD_PARENT)
        } else {
            (&r.leaf, NAME_LEAF)
        };
        let key = NameKey(name_bytes(name));
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some((_, f)) => *f |= flag,
            None => out.push((key, flag)),
        }
    }
    out
}

const C: u32 = CLASS_CREDENTIAL;
const P: u32 = CLASS_PERSISTENCE;

/// The default set: credential files (any open) and persistence locations (writes).
pub const DEFAULT_RULES: &[(&str, &str, &str, u32)] = &[
    // SSH private keys and agent-less credentials.
    ("*", ".ssh", "id_rsa", C),
    ("*", ".ssh", "id_dsa", C),
    ("*", ".ssh", "id_ecdsa", C),
    ("*", ".ssh", "id_ecdsa_sk", C),
    ("*", ".ssh", "id_ed25519", C),
    ("*", ".ssh", "id_ed25519_sk", C),
    // Cloud and cluster credentials.
    ("*", ".aws", "credentials", C),
    ("*", ".aws", "config", C),
    ("*", ".kube", "config", C),
    ("*", "gcloud", "credentials.db", C),
    ("*", "gcloud", "access_tokens.db", C),
    ("*", ".azure", "accessTokens.json", C),
    ("*", ".docker", "config.json", C),
    // Password files in home directories.
    ("*", "*", ".netrc", C),
    ("*", "*", ".pgpass", C),
    ("*", "*", ".git-credentials", C),
    ("*", "*", ".my.cnf", C),
    // GnuPG private keys.
    ("*", ".gnupg", "*", C),
    ("*", "private-keys-v1.d", "*", C),
    // Browser cookie and login stores (Chromium family and Firefox profiles).
    ("*", "*", "Cookies", C),
    ("*", "*", "Login Data", C),
    ("*", "*", "cookies.sqlite", C),
    ("*", "*", "logins.json", C),
    ("*", "*", "key4.db", C),
    // System password databases.
    ("*", "etc", "shadow", C),
    ("*", "etc", "gshadow", C),
    ("*", "etc", "shadow-", C),
    ("*", "etc", "sudoers", P),
    ("*", "sudoers.d", "*", P),
    // systemd units: /etc/systemd/system, /usr/lib/systemd/system, ~/.config/systemd/user, ...
    ("systemd", "system", "*", P),
    ("systemd", "user", "*", P),
    ("*", "system.conf.d", "*", P),
    // cron and at.
    ("*", "etc", "crontab", P),
    ("*", "cron.d", "*", P),
    ("*", "cron.hourly", "*", P),
    ("*", "cron.daily", "*", P),
    ("*", "cron.weekly", "*", P),
    ("*", "cron.monthly", "*", P),
    ("*", "crontabs", "*", P),
    ("spool", "cron", "*", P),
    // Shell start-up files.
    ("*", "*", ".bashrc", P),
    ("*", "*", ".bash_profile", P),
    ("*", "*", ".bash_login", P),
    ("*", "*", ".profile", P),
    ("*", "*", ".zshrc", P),
    ("*", "*", ".zprofile", P),
    ("*", "*", ".zshenv", P),
    ("*", "etc", "profile", P),
    ("*", "etc", "bash.bashrc", P),
    ("*", "etc", "environment", P),
    ("*", "profile.d", "*", P),
    // Desktop autostart and other start-up hooks.
    ("*", "autostart", "*", P),
    ("*", "etc", "rc.local", P),
    ("*", "etc", "ld.so.preload", P),
    ("*", ".ssh", "authorized_keys", P),
    ("*", ".ssh", "authorized_keys2", P),
    ("*", "rules.d", "*", P),
];

/// The default rules, parsed.
pub fn default_rules() -> Vec<PathRule> {
    DEFAULT_RULES
        .iter()
        .filter_map(|&(g, p, l, c)| PathRule::new(g, p, l, c).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_default_rules_are_valid() {
        assert_eq!(default_rules().len(), DEFAULT_RULES.len());
    }

    #[test]
    fn rejects_bad_names() {
        assert!(PathRule::new("*", "a/b", "x", C).is_err());
        assert!(PathRule::new("*", "", "x", C).is_err());
        assert!(PathRule::new("*", "x", &"y".repeat(40), C).is_err());
        assert!(PathRule::new("*", "x", "y", 7).is_err());
    }

    /// Mirrors the kernel's first test and then its five lookups: whatever a rule matches
    /// passes the first test, and common library opens do not.
    #[test]
    fn first_test_keeps_every_rule_and_drops_library_opens() {
        let rules = default_rules();
        let names = first_test_names(&rules);
        let flags = |n: &str| {
            names
                .iter()
                .find(|(k, _)| *k == NameKey(name_bytes(n)))
                .map_or(0, |(_, f)| *f)
        };
        let passes = |parent: &str, leaf: &str| {
            flags(leaf) & NAME_LEAF != 0 || flags(parent) & NAME_WILD_PARENT != 0
        };
        for r in &rules {
            let concrete = |n: &str| {
                if n == "*" {
                    "anything".to_string()
                } else {
                    n.to_string()
                }
            };
            assert!(
                passes(&concrete(&r.parent), &concrete(&r.leaf)),
                "{r:?} would be dropped by the first test"
            );
        }
        assert!(!passes("x86_64-linux-gnu", "libc.so.6"));
        assert!(!passes("etc", "ld.so.cache"));
        assert!(!passes("bin", "true"));
    }
}
