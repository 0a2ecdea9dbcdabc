//! The engine's HTTP requests (history pages; sends in HTTP mode) through the global
//! `fetch`, with `Authorization: Bearer <token>`. Any status is an answer for the engine
//! to judge; only a failure to get one (network down, CORS refusal) is `handle_http_failed`.

use chat_engine::text;
use std::rc::Weak;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, Request, RequestInit, Response};

use super::Driver;
use chat_engine::engine::HttpRequest;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = fetch, catch)]
    fn global_fetch(request: &Request) -> Result<js_sys::Promise, JsValue>;
}

/// Starts `request`; the driver hears of its end (unless it was destroyed meanwhile).
pub(crate) fn start(request: HttpRequest, driver: Weak<Driver>) {
    wasm_bindgen_futures::spawn_local(async move {
        let result = fetch(&request).await;
        let Some(driver) = driver.upgrade() else {
            return;
        };
        match result {
            Ok((status, body)) => driver.http_response(request.id, status, &body),
            Err(error) => {
                let detail = js_sys::Error::from(error)
                    .message()
                    .as_string()
                    .unwrap_or_default();
                driver.warn(&text!(
                    request.method,
                    " ",
                    request.url,
                    " failed: ",
                    detail
                ));
                driver.http_failed(request.id);
            }
        }
    });
}

async fn fetch(request: &HttpRequest) -> Result<(u16, String), JsValue> {
    let init = RequestInit::new();
    init.set_method(request.method);
    let headers = Headers::new()?;
    if let Some(token) = &request.bearer {
        headers.set("Authorization", &text!("Bearer ", token))?;
    }
    if let Some(body) = &request.body {
        headers.set("Content-Type", "application/json")?;
        init.set_body(&JsValue::from_str(body));
    }
    init.set_headers(&headers);
    let request = Request::new_with_str_and_init(&request.url, &init)?;
    let response: Response = JsFuture::from(global_fetch(&request)?).await?.dyn_into()?;
    let status = response.status();
    let body = JsFuture::from(response.text()?)
        .await?
        .as_string()
        .unwrap_or_default();
    Ok((status, body))
}
