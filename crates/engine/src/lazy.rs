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
    raw: Option<Box<[u8]>>,
    full: OnceLock<Arc<Event>>,
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
            raw: Some(raw.into()),
            full: OnceLock::new(),
        }
    }

    /// The fields rules read (all of them, when the event is whole).
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
