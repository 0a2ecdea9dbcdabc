//! One `WebSocket` per [`SocketId`] the engine asks for, reporting back to the driver.
//!
//! Handlers hold a `Weak` to the driver: a socket never keeps a destroyed engine alive.
//! `error` is not reported on its own: a WebSocket always follows it with `close`, and
//! the engine only needs to hear about the end once.

use std::rc::Weak;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{MessageEvent, WebSocket};

use super::Driver;
use chat_engine::ids::SocketId;

#[derive(Debug)]
pub(crate) struct Socket {
    ws: WebSocket,
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut()>,
}

impl Socket {
    /// Opens a WebSocket to `url`; `Err` if the URL or the platform refuses at once.
    pub(crate) fn open(url: &str, id: SocketId, driver: Weak<Driver>) -> Result<Socket, JsValue> {
        let ws = WebSocket::new(url)?;
        let on_open = {
            let driver = driver.clone();
            Closure::<dyn FnMut()>::new(move || {
                if let Some(driver) = driver.upgrade() {
                    driver.socket_opened(id);
                }
            })
        };
        let on_message = {
            let driver = driver.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                if let Some(driver) = driver.upgrade() {
                    match event.data().as_string() {
                        Some(text) => driver.socket_frame(id, &text),
                        None => driver.warn("binary WebSocket frame ignored"),
                    }
                }
            })
        };
        let on_close = Closure::<dyn FnMut()>::new(move || {
            if let Some(driver) = driver.upgrade() {
                driver.socket_closed(id);
            }
        });
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Ok(Socket {
            ws,
            _on_open: on_open,
            _on_message: on_message,
            _on_close: on_close,
        })
    }

    pub(crate) fn send(&self, text: &str) -> Result<(), JsValue> {
        self.ws.send_with_str(text)
    }
}

impl Drop for Socket {
    /// Detaches the handlers (the engine has forgotten this socket) and closes it.
    fn drop(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}
