//! An event as the stateful engine holds it: the projected view that rules, join keys and
//! history read (see [`spawnguard_event::Projection`]), and the record's bytes, parsed in
//! full only when something needs the whole document — an alert, its identity, suppression
//! by arbitrary fields. Most events that reach the stateful engine (a later sequence stage
//! with no pending sequence, a known new term) never need it.
//!
//! The bytes are either the event's own copy or a range of the batch of records a worker
//! thread screened (shared, not copied: see [`Raw`]). An event kept for long (a pending
//! sequence's, see [`LazyEvent::retained`]) takes its own copy, so that it does not hold a
//! whole batch. An event may also come without its view ([`LazyEvent::deferred`]): a worker
//! hands on an event that only a pending sequence could want without its projected fields,
//! and the engine projects it again in the rare case one does ([`LazyEvent::ensure_view`]).

use spawnguard_event::Event;
use std::sync::{Arc, OnceLock};

/// Where a record's bytes are.
#[derive(Debug, Clone)]
pub enum Raw {
    /// The event's own copy.
    Own(Arc<[u8]>),
    /// `start..end` of a batch of records.
    Shared(Arc<Vec<u8>>, usize, usize),
}

impl Raw {
    pub fn bytes(&self) -> &[u8] {
        match self {
            Raw::Own(b) => b,
            Raw::Shared(buf, s, e) => buf.get(*s..*e).unwrap_or(&[]),
        }
    }

    /// The same bytes in a copy of their own (no longer holding a batch).
    fn owned(&self) -> Raw {
        match self {
            Raw::Own(b) => Raw::Own(b.clone()),
            Raw::Shared(..) => Raw::Own(Arc::from(self.bytes())),
        }
    }
}

#[derive(Debug)]
pub struct LazyEvent {
    /// The fields rules read; unset for a [`LazyEvent::deferred`] event until
    /// [`LazyEvent::ensure_view`] (or the first [`LazyEvent::view`], which parses in full).
    view: OnceLock<Arc<Event>>,
    /// The record's bytes when `view` is a projection; `None` when `view` is whole.
    raw: Option<Raw>,
    full: OnceLock<Arc<Event>>,
}

/// The view of an event kept only for its document (see [`LazyEvent::retained`]).
fn no_view() -> Arc<Event> {
    static EMPTY: OnceLock<Arc<Event>> = OnceLock::new();
    EMPTY
        .get_or_init(|| Arc::new(Event::new(serde_json::Value::Null)))
        .clone()
}

impl LazyEvent {
    /// An event that is already whole (parsed in full, or built by the sensor).
    pub fn whole(ev: Event) -> LazyEvent {
        LazyEvent {
            view: OnceLock::from(Arc::new(ev)),
            raw: None,
            full: OnceLock::new(),
        }
    }

    /// A projection of the record `raw`.
    pub fn projected(view: Event, raw: Raw) -> LazyEvent {
        LazyEvent {
            view: OnceLock::from(Arc::new(view)),
            raw: Some(raw),
            full: OnceLock::new(),
        }
    }

    /// The record `raw`, whose projection is left to [`LazyEvent::ensure_view`].
    pub fn deferred(raw: Raw) -> LazyEvent {
        LazyEvent {
            view: OnceLock::new(),
            raw: Some(raw),
            full: OnceLock::new(),
        }
    }

    /// Makes the view by `project` (the screen's projection of the record) if there is none
    /// yet; a record it cannot project is parsed in full.
    pub fn ensure_view(&self, project: impl FnOnce(&[u8]) -> Option<Event>) {
        if self.view.get().is_some() {
            return;
        }
        let projected = self
            .raw
            .as_ref()
            .and_then(|r| project(r.bytes()))
            .map(Arc::new);
        let view = projected.unwrap_or_else(|| self.full());
        let _ = self.view.set(view);
    }

    /// The same event for keeping in a pending sequence or sample, where only its whole
    /// document is read again (for the alert): a projection's view is left out (it is
    /// several times the size of the record), the record's bytes are its own. A whole event
    /// is kept as it is.
    pub fn retained(self: &Arc<LazyEvent>) -> Arc<LazyEvent> {
        match &self.raw {
            None => self.clone(),
            Some(raw) => Arc::new(LazyEvent {
                view: OnceLock::from(no_view()),
                raw: Some(raw.owned()),
                full: match self.full.get() {
                    Some(f) => OnceLock::from(f.clone()),
                    None => OnceLock::new(),
                },
            }),
        }
    }

    /// The fields rules read (all of them, when the event is whole; none, for an event
    /// [`LazyEvent::retained`] for its document; the whole document for a deferred event
    /// whose view was never made).
    pub fn view(&self) -> &Event {
        self.view.get_or_init(|| self.full())
    }

    /// The view when it holds every field rules read: a projection, or the whole event;
    /// `None` for an event [`LazyEvent::retained`] only for its document, or a deferred one
    /// not projected yet.
    pub fn fields(&self) -> Option<&Event> {
        let v = self.view.get()?;
        (!Arc::ptr_eq(v, &no_view())).then_some(&**v)
    }

    /// The whole document, parsed on first use.
    pub fn full(&self) -> Arc<Event> {
        let Some(raw) = &self.raw else {
            return self.view.get().cloned().unwrap_or_else(no_view);
        };
        self.full
            .get_or_init(|| {
                // The projection accepted these bytes, so the full parser does too; should
                // it not, the view (if any) is all there is.
                match serde_json::from_slice(raw.bytes()) {
                    Ok(v) => Arc::new(Event::new(v)),
                    Err(_) => self.view.get().cloned().unwrap_or_else(no_view),
                }
            })
            .clone()
    }
}
