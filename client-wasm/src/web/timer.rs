//! The one timer of the run loop: armed for [`crate::Engine::poll_timeout`], replaced
//! when the deadline moves, cancelled when there is none. The clock is
//! `performance.now()` (monotonic, in ms), which is also what `Millis` counts.

use gloo_timers::callback::Timeout;
use std::rc::Weak;
use wasm_bindgen::prelude::*;

use super::Driver;
use chat_engine::time::Millis;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
}

/// The engine's clock: milliseconds since the page's time origin.
pub(crate) fn now() -> Millis {
    let ms = performance_now();
    Millis(if ms.is_finite() && ms > 0.0 {
        ms as u64
    } else {
        0
    })
}

/// `performance.timeOrigin`: adding it to a [`Millis`] gives epoch milliseconds.
pub(crate) fn time_origin() -> f64 {
    let performance = js_sys::Reflect::get(&js_sys::global(), &"performance".into());
    performance
        .and_then(|p| js_sys::Reflect::get(&p, &"timeOrigin".into()))
        .ok()
        .and_then(|v| v.as_f64())
        .unwrap_or(0.0)
}

#[derive(Debug, Default)]
pub(crate) struct DeadlineTimer {
    armed: Option<(Millis, Timeout)>,
}

impl DeadlineTimer {
    /// Arms the timer for `deadline` (or disarms it), unless it is already set for it.
    pub(crate) fn set(&mut self, deadline: Option<Millis>, driver: Weak<Driver>) {
        if self.armed.as_ref().map(|(at, _)| *at) == deadline {
            return;
        }
        // Dropping a gloo Timeout clears it.
        self.armed = deadline.map(|at| {
            let wait = at.since(now());
            let wait = u32::try_from(wait).unwrap_or(u32::MAX).saturating_add(1);
            let timeout = Timeout::new(wait, move || {
                if let Some(driver) = driver.upgrade() {
                    driver.timer_fired();
                }
            });
            (at, timeout)
        });
    }

    pub(crate) fn cancel(&mut self) {
        self.armed = None;
    }
}
