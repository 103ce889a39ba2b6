//! A rule's alert candidate, between a match and its suppression verdict.

use crate::alert::{event_identity, ThresholdResult};
use crate::lazy::LazyEvent;
use spawnguard_query::sequence::SequenceMatch;
use std::sync::Arc;

/// A rule's candidate alert before suppression and enrichment.
pub(crate) struct Candidate {
    pub(crate) rule: usize,
    pub(crate) event: Arc<LazyEvent>,
    pub(crate) time_ns: i64,
    pub(crate) source: Option<(Arc<str>, u64)>,
    pub(crate) new_terms: Option<Vec<String>>,
    pub(crate) threshold: Option<ThresholdResult>,
    pub(crate) group: Vec<Arc<LazyEvent>>,
    /// What tells this alert apart from others of its rule (its uuid is made from it), when
    /// it is not the events' own: see [`Candidate::identity`].
    pub(crate) identity: Option<String>,
}

impl Candidate {
    /// The alert's identity: the given one, else that of its group of events (a sequence
    /// or sample), else that of its event, with its new terms if any. Made only for alerts
    /// that are emitted (it may need the whole document of each event), not for suppressed
    /// ones.
    pub(crate) fn identity(&self) -> String {
        if let Some(id) = &self.identity {
            return id.clone();
        }
        if !self.group.is_empty() {
            let ids: Vec<String> = self
                .group
                .iter()
                .map(|e| event_identity(&e.full()))
                .collect();
            return ids.join("|");
        }
        let id = event_identity(&self.event.full());
        match &self.new_terms {
            Some(nt) => format!("{id}|{}", nt.join("\u{1f}")),
            None => id,
        }
    }
}

/// The alert candidate of a completed sequence (none while learning).
pub(crate) fn sequence_candidate(
    rule: usize,
    sm: SequenceMatch<Arc<LazyEvent>>,
    learn: bool,
) -> Option<Candidate> {
    if learn {
        return None;
    }
    let last = sm.items.last().cloned()?;
    Some(Candidate {
        rule,
        time_ns: sm.timestamps.last().copied().unwrap_or(0),
        event: last,
        source: None,
        new_terms: None,
        threshold: None,
        group: sm.items,
        identity: None,
    })
}
