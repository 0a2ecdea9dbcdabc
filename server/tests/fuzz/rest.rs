//! The REST routes with hostile bodies and query strings.

use crate::fuzz;
use crate::strategies::{edge_text, json_value, or_hostile, send_payload};
use chat_test_support::{on_both_backends, users_in_conversation};
use proptest::prelude::*;
use reqwest::Response;
use serde_json::{Value, json};

/// A request: method, path, query pairs, and a JSON body (`Err`: raw text) for POSTs.
#[derive(Clone, Debug)]
struct Request {
    post: bool,
    path: String,
    query: Vec<(String, String)>,
    body: Result<Value, String>,
}

fn path_id(conversation: i64) -> impl Strategy<Value = String> {
    prop_oneof![
        3 => Just(conversation.to_string()),
        1 => Just(i64::MAX.to_string()),
        1 => Just("-1".to_owned()),
        1 => Just("99999999999999999999".to_owned()),
        1 => Just("%00".to_owned()),
        1 => "[a-z0-9]{0,5}",
    ]
}

fn query_value() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => edge_text(),
        1 => (0..200i64).prop_map(|n| n.to_string()),
        1 => Just("2026-01-01T00:00:00Z".to_owned()),
        1 => Just("0001-01-01T00:00:00Z".to_owned()),
        1 => Just("1e3".to_owned()),
    ]
}

fn query(keys: &'static [&'static str]) -> impl Strategy<Value = Vec<(String, String)>> {
    let key = prop_oneof![
        4 => prop::sample::select(keys.to_vec()).prop_map(str::to_owned),
        1 => "[a-zA-Z]{1,6}",
    ];
    prop::collection::vec((key, query_value()), 0..4)
}

/// A JSON body of `shape` (an object) with fields kept or replaced, any JSON, or text
/// that is not JSON.
fn body(shape: Value) -> impl Strategy<Value = Result<Value, String>> {
    let fields: Vec<_> = shape
        .as_object()
        .expect("an object")
        .iter()
        .map(|(key, value)| {
            let key = key.clone();
            or_hostile(value.clone()).prop_map(move |v| (key.clone(), v))
        })
        .collect();
    let shaped = fields.prop_map(|fields| Ok(Value::Object(fields.into_iter().collect())));
    let not_json = prop_oneof![Just("{".to_owned()), Just("\u{0}".to_owned()), ".{0,20}"];
    prop_oneof![
        4 => shaped.boxed(),
        1 => json_value().prop_map(Ok).boxed(),
        1 => not_json.prop_map(Err).boxed(),
    ]
}

fn request(conversation: i64, other_user: i64) -> impl Strategy<Value = Request> {
    let credentials = json!({ "username": "fuzz", "password": "correct horse battery" });
    let get = |path: BoxedStrategy<String>, keys| {
        (path, query(keys)).prop_map(|(path, query)| Request {
            post: false,
            path,
            query,
            body: Ok(Value::Null),
        })
    };
    let post = |path: BoxedStrategy<String>, shape: Value| {
        (path, body(shape)).prop_map(|(path, body)| Request {
            post: true,
            path,
            query: Vec::new(),
            body,
        })
    };
    let messages = path_id(conversation)
        .prop_map(|id| format!("/api/conversations/{id}/messages"))
        .boxed();
    prop_oneof![
        get(
            Just("/api/conversations".to_owned()).boxed(),
            &["limit", "before", "beforeId"]
        ),
        get(
            messages.clone(),
            &["limit", "afterSeq", "beforeSeq", "since"]
        ),
        get(Just("/api/users".to_owned()).boxed(), &["username"]),
        get(Just("/api/users/me".to_owned()).boxed(), &["x"]),
        post(
            Just("/api/auth/register".to_owned()).boxed(),
            credentials.clone()
        ),
        post(Just("/api/auth/login".to_owned()).boxed(), credentials),
        post(
            Just("/api/conversations".to_owned()).boxed(),
            json!({ "participantIds": [other_user], "title": "t" })
        ),
        (messages, send_payload()).prop_map(|(path, payload)| Request {
            post: true,
            path,
            query: Vec::new(),
            body: Ok(payload),
        }),
    ]
}

async fn assert_well_formed(request: &Request, response: Response) {
    let status = response.status();
    let text = response.text().await.unwrap();
    let context = format!("{request:?} -> {status} {text}");
    assert!(status.as_u16() < 500, "{context}");
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {context}"));
    if !status.is_success() {
        assert!(body["error"]["code"].is_string(), "{context}");
        assert!(body["error"]["message"].is_string(), "{context}");
    }
}

on_both_backends! {
    async fn hostile_bodies_and_queries_get_well_formed_answers(app: TestApp) {
        let (users, conversation) = users_in_conversation(&app, &["alice", "bob"]).await;
        app.store(&users[1], conversation, "hello").await;
        let token = users[0].token.clone();
        fuzz(request(conversation, users[1].id), async |request| {
            let mut url = reqwest::Url::parse(&app.url(&request.path)).unwrap();
            if !request.query.is_empty() {
                url.query_pairs_mut().extend_pairs(&request.query);
            }
            let builder = if request.post {
                let builder = app.client.post(url).bearer_auth(&token);
                match &request.body {
                    Ok(json) => builder.json(json),
                    Err(raw) => builder.header("content-type", "application/json").body(raw.clone()),
                }
            } else {
                app.client.get(url).bearer_auth(&token)
            };
            let response = builder.send().await.expect("the server answers");
            assert_well_formed(&request, response).await;
        })
        .await;
    }
}
