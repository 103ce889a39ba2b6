//! An event as the stateful engine holds it: the projected view that rules, join keys and
//! history read (see [`spawnguard_event::Projection`]), and the record's bytes, parsed in
//! full only when something needs the whole document — an alert, its identity, suppression
//! by arbitrary fields. Most events that reach the stateful engine (a later sequence stage
//! with no pending sequence, a known new term) never need it.

use spawnguard_event::Event;
use std::sync::{Arc, OnceLock};

#[derive(Debug)]
pub struct LazyEvent {
    view: Arc<Event>,
    /// The record's bytes when `view` is a projection; `None` when `view` is whole.
    raw: Option<Arc<[u8]>>,
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
            view: Arc::new(ev),
            raw: None,
            full: OnceLock::new(),
        }
    }

    /// A projection of the record `raw`.
    pub fn projected(view: Event, raw: &[u8]) -> LazyEvent {
        LazyEvent {
            view: Arc::new(view),
            raw: Some(Arc::from(raw)),
            full: OnceLock::new(),
        }
    }

    /// The same event for keeping in a pending sequence or sample, where only its whole
    /// document is read again (for the alert): a projection's view is left out (it is
    /// several times the size of the record), the record's bytes are shared. A whole event
    /// is kept as it is.
    pub fn retained(self: &Arc<LazyEvent>) -> Arc<LazyEvent> {
        match &self.raw {
            None => self.clone(),
            Some(raw) => Arc::new(LazyEvent {
                view: no_view(),
                raw: Some(raw.clone()),
                full: match self.full.get() {
                    Some(f) => OnceLock::from(f.clone()),
                    None => OnceLock::new(),
                },
            }),
        }
    }

    /// The fields rules read (all of them, when the event is whole; none, for an event
    /// [`LazyEvent::retained`] for its document).
    pub fn view(&self) -> &Event {
        &self.view
    }

    /// The whole document, parsed on first use.
    pub fn full(&self) -> Arc<Event> {
        let Some(raw) = &self.raw else {
            return self.view.clone();
        };
        self.full
            .get_or_init(|| {
                // The projection accepted these bytes, so the full parser does too; should
                // it not, the view is all there is.
                match serde_json::from_slice(raw) {
                    Ok(v) => Arc::new(Event::new(v)),
                    Err(_) => self.view.clone(),
                }
            })
            .clone()
    }
}
