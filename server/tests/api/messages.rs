//! Sending over HTTP, idempotency, history, read receipts, concurrency.

use chat_test_support::{Backend, TestApp, TestUser, assert_error, on_both_backends};
use chat_wire::{ConversationId, MessageId, UserId};
use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};
use server::db::{InsertOutcome, NewMessage};
use std::collections::{BTreeMap, HashMap};

async fn pair(app: &TestApp) -> (TestUser, TestUser, i64) {
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let conversation = app.conversation(&alice, &[&bob], None).await;
    (alice, bob, conversation["id"].as_i64().unwrap())
}

fn messages_path(id: i64) -> String {
    format!("/api/conversations/{id}/messages")
}

/// Stores `n` messages through the data layer (no rate limit), texts "m1".."mn".
async fn fill(app: &TestApp, sender: &TestUser, conversation: i64, n: usize) {
    for i in 1..=n {
        app.store(sender, conversation, &format!("m{i}")).await;
    }
}

fn seqs(page: &Value) -> Vec<i64> {
    page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect()
}

on_both_backends! {
    async fn sending_over_http_stores_the_message_with_consecutive_seqs(app: TestApp) {
        let (alice, bob, id) = pair(&app).await;
        let cmid = uuid::Uuid::new_v4().to_string();
        let response = app
            .post(&messages_path(id), Some(&alice.token), &json!({"clientMessageId": cmid, "text": "hello <b>bob</b>"}))
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let message: Value = response.json().await.unwrap();
        assert_eq!(message["conversationId"], id);
        assert_eq!(message["seq"], 1);
        assert_eq!(message["senderId"], alice.id);
        assert_eq!(message["text"], "hello <b>bob</b>");
        assert_eq!(message["clientMessageId"], cmid.as_str());
        let created_at = message["createdAt"].as_str().unwrap();
        assert_eq!(created_at.len(), "2026-11-26T10:00:00.123Z".len(), "{created_at}");
        assert!(created_at.ends_with('Z'));
        let second: Value = app.send(&bob, id, "hi").await.json().await.unwrap();
        assert_eq!(second["seq"], 2);
        let conversations: Value = app.get("/api/conversations", Some(&bob.token)).await.json().await.unwrap();
        assert_eq!(conversations[0]["lastSeq"], 2);
    }

    async fn a_repeated_client_message_id_returns_the_original_with_200(app: TestApp) {
        let (alice, _bob, id) = pair(&app).await;
        let body = json!({"clientMessageId": uuid::Uuid::new_v4(), "text": "once"});
        let first = app.post(&messages_path(id), Some(&alice.token), &body).await;
        assert_eq!(first.status(), StatusCode::CREATED);
        let first: Value = first.json().await.unwrap();
        // Even with another text, a repeat is the original.
        let mut repeat_body = body.clone();
        repeat_body["text"] = json!("twice?");
        let repeat = app.post(&messages_path(id), Some(&alice.token), &repeat_body).await;
        assert_eq!(repeat.status(), StatusCode::OK);
        assert_eq!(repeat.json::<Value>().await.unwrap(), first);
        let page: Value = app.get(&messages_path(id), Some(&alice.token)).await.json().await.unwrap();
        assert_eq!(seqs(&page), vec![1]);
    }

    async fn another_user_may_reuse_a_client_message_id(app: TestApp) {
        let (alice, bob, id) = pair(&app).await;
        let body = json!({"clientMessageId": uuid::Uuid::new_v4(), "text": "same id"});
        let a = app.post(&messages_path(id), Some(&alice.token), &body).await;
        let b = app.post(&messages_path(id), Some(&bob.token), &body).await;
        assert_eq!(a.status(), StatusCode::CREATED);
        assert_eq!(b.status(), StatusCode::CREATED);
        assert_eq!(b.json::<Value>().await.unwrap()["seq"], 2);
    }

    async fn reusing_a_client_message_id_in_another_conversation_is_refused(app: TestApp) {
        let (alice, bob, id) = pair(&app).await;
        let group = app.conversation(&alice, &[&bob], Some("group")).await;
        let body = json!({"clientMessageId": uuid::Uuid::new_v4(), "text": "here"});
        assert_eq!(app.post(&messages_path(id), Some(&alice.token), &body).await.status(), StatusCode::CREATED);
        let elsewhere = app.post(&messages_path(group["id"].as_i64().unwrap()), Some(&alice.token), &body).await;
        assert_error(elsewhere, StatusCode::CONFLICT, "conflict").await;
    }

    async fn message_text_and_client_message_id_are_validated(app: TestApp) {
        let (alice, _bob, id) = pair(&app).await;
        let send = |text: String, cmid: String| {
            let app = &app;
            let alice = &alice;
            async move {
                app.post(&messages_path(id), Some(&alice.token), &json!({"clientMessageId": cmid, "text": text})).await
            }
        };
        let uuid = || uuid::Uuid::new_v4().to_string();
        assert_error(send("x".repeat(1001), uuid()).await, StatusCode::BAD_REQUEST, "too_long").await;
        // Short after trimming but over 4096 bytes as sent.
        assert_error(send(format!("x{}", " ".repeat(60 * 1024)), uuid()).await, StatusCode::BAD_REQUEST, "too_long").await;
        assert_error(send(format!("x{}", " ".repeat(4096)), uuid()).await, StatusCode::BAD_REQUEST, "too_long").await;
        assert_error(send(String::new(), uuid()).await, StatusCode::BAD_REQUEST, "bad_request").await;
        assert_error(send(" \n\t ".into(), uuid()).await, StatusCode::BAD_REQUEST, "bad_request").await;
        assert_error(send("bell\u{7}".into(), uuid()).await, StatusCode::BAD_REQUEST, "bad_request").await;
        assert_error(send("ok".into(), "not-a-uuid".into()).await, StatusCode::BAD_REQUEST, "bad_request").await;
        assert_error(send("ok".into(), String::new()).await, StatusCode::BAD_REQUEST, "bad_request").await;
        let missing = app.post(&messages_path(id), Some(&alice.token), &json!({"text": "no id"})).await;
        assert_error(missing, StatusCode::BAD_REQUEST, "bad_request").await;
        // 1000 characters after trimming is the limit, not more.
        assert_eq!(send(format!("  {}  ", "é".repeat(1000)), uuid()).await.status(), StatusCode::CREATED);
        let page: Value = app.get(&messages_path(id), Some(&alice.token)).await.json().await.unwrap();
        assert_eq!(seqs(&page), vec![1], "refused sends leave no row and no seq gap");
    }

    async fn non_participants_get_the_same_answer_as_for_a_missing_conversation(app: TestApp) {
        let (alice, _bob, id) = pair(&app).await;
        fill(&app, &alice, id, 3).await;
        let eve = app.register("eve").await;
        let missing = id + 1000;
        let mut answers = Vec::new();
        for conversation in [id, missing] {
            let get = app.get(&messages_path(conversation), Some(&eve.token)).await;
            let get_status = get.status();
            let get_body = get.bytes().await.unwrap();
            let post = app.send(&eve, conversation, "let me in").await;
            let post_status = post.status();
            let post_body = post.bytes().await.unwrap();
            answers.push((get_status, get_body, post_status, post_body));
        }
        assert_eq!(answers[0], answers[1]);
        assert_eq!(answers[0].0, StatusCode::FORBIDDEN);
        let body: Value = serde_json::from_slice(&answers[0].1).unwrap();
        assert_eq!(body["error"]["code"], "forbidden");
        // Nothing was stored and no seq was spent.
        let page: Value = app.get(&messages_path(id), Some(&alice.token)).await.json().await.unwrap();
        assert_eq!(seqs(&page), vec![1, 2, 3]);
    }

    async fn history_pages_forward_from_after_seq_and_backward_from_the_newest(app: TestApp) {
        let (alice, bob, id) = pair(&app).await;
        fill(&app, &alice, id, 7).await;
        let get = |query: &'static str| {
            let (app, bob) = (&app, &bob);
            async move {
                let response = app.get(&format!("{}{query}", messages_path(id)), Some(&bob.token)).await;
                assert_eq!(response.status(), StatusCode::OK, "{query}");
                response.json::<Value>().await.unwrap()
            }
        };
        let newest = get("").await;
        assert_eq!(seqs(&newest), (1..=7).collect::<Vec<_>>());
        assert_eq!(newest["hasMore"], false);
        let newest3 = get("?limit=3").await;
        assert_eq!(seqs(&newest3), vec![5, 6, 7]);
        assert_eq!(newest3["hasMore"], true);
        let before = get("?beforeSeq=5&limit=3").await;
        assert_eq!(seqs(&before), vec![2, 3, 4]);
        assert_eq!(before["hasMore"], true);
        let oldest = get("?beforeSeq=3&limit=3").await;
        assert_eq!(seqs(&oldest), vec![1, 2]);
        assert_eq!(oldest["hasMore"], false);
        let after = get("?afterSeq=2&limit=3").await;
        assert_eq!(seqs(&after), vec![3, 4, 5]);
        assert_eq!(after["hasMore"], true);
        let tail = get("?afterSeq=5").await;
        assert_eq!(seqs(&tail), vec![6, 7]);
        assert_eq!(tail["hasMore"], false);
        let nothing = get("?afterSeq=7").await;
        assert_eq!(nothing, json!({"messages": [], "hasMore": false}));
        let window = get("?afterSeq=2&beforeSeq=5").await;
        assert_eq!(seqs(&window), vec![3, 4]);
        assert_eq!(newest["messages"][0]["text"], "m1");
    }

    async fn history_since_compares_created_at_inclusively(app: TestApp) {
        let (alice, bob, id) = pair(&app).await;
        fill(&app, &alice, id, 3).await;
        let all: Value = app.get(&messages_path(id), Some(&bob.token)).await.json().await.unwrap();
        let second = &all["messages"][1];
        let created_at = second["createdAt"].as_str().unwrap();
        let since_ms = chrono::DateTime::parse_from_rfc3339(created_at).unwrap().timestamp_millis();
        for since in [created_at.to_owned(), since_ms.to_string()] {
            let page: Value = app
                .get(&format!("{}?since={}", messages_path(id), since.replace('+', "%2B")), Some(&bob.token))
                .await
                .json()
                .await
                .unwrap();
            let got = seqs(&page);
            assert!(got.contains(&2) && got.contains(&3), "{since}: {page}");
            assert!(got.iter().all(|s| *s >= 1));
        }
        let future: Value = app
            .get(&format!("{}?since=2999-01-01T00:00:00Z", messages_path(id)), Some(&bob.token))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(future, json!({"messages": [], "hasMore": false}));
        let page: Value = app
            .get(&format!("{}?since=0&limit=2", messages_path(id)), Some(&bob.token))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(seqs(&page), vec![1, 2]);
        assert_eq!(page["hasMore"], true);
    }

    async fn history_query_values_out_of_range_or_non_numeric_are_bad_requests(app: TestApp) {
        let (alice, _bob, id) = pair(&app).await;
        for query in [
            "limit=0", "limit=501", "limit=-1", "limit=abc", "limit=1.5", "limit=", "limit=99999999999999999999",
            "afterSeq=-1", "afterSeq=x", "afterSeq=1e3", "beforeSeq=-5", "beforeSeq=",
            "since=yesterday", "since=", "since=2026-13-45T00:00:00Z", "since=-5",
        ] {
            let response = app.get(&format!("{}?{query}", messages_path(id)), Some(&alice.token)).await;
            assert_error(response, StatusCode::BAD_REQUEST, "bad_request").await;
        }
        for query in ["limit=1", "limit=500", "afterSeq=0", "beforeSeq=99999999999"] {
            let response = app.get(&format!("{}?{query}", messages_path(id)), Some(&alice.token)).await;
            assert_eq!(response.status(), StatusCode::OK, "{query}");
        }
        assert_error(app.get("/api/conversations/abc/messages", Some(&alice.token)).await, StatusCode::BAD_REQUEST, "bad_request").await;
    }

    async fn sending_faster_than_ten_a_second_is_rate_limited(app: TestApp) {
        let (alice, bob, id) = pair(&app).await;
        let responses = join_all((0..40).map(|i| app.send(&alice, id, if i % 2 == 0 { "a" } else { "b" }))).await;
        let limited: Vec<_> = responses.into_iter().filter(|r| r.status() == StatusCode::TOO_MANY_REQUESTS).collect();
        assert!(!limited.is_empty(), "40 sends at once must exceed 10/s");
        let first = limited.into_iter().next().unwrap();
        assert!(first.headers().contains_key("retry-after"));
        let body: Value = first.json().await.unwrap();
        assert_eq!(body["error"]["code"], "rate_limited");
        assert!(body["error"]["retryAfterMs"].as_u64().unwrap() >= 1, "{body}");
        // Another user's bucket is separate.
        assert_eq!(app.send(&bob, id, "me too").await.status(), StatusCode::CREATED);
    }

    async fn read_receipts_are_recorded_once_for_participants_only(app: TestApp) {
        let (alice, bob, id) = pair(&app).await;
        fill(&app, &alice, id, 1).await;
        let page: Value = app.get(&messages_path(id), Some(&bob.token)).await.json().await.unwrap();
        let message = MessageId(page["messages"][0]["id"].as_i64().unwrap());
        let first = app.db().mark_read(message, UserId(bob.id)).await.unwrap().unwrap();
        assert!(first.newly_read);
        assert_eq!(first.sender_id, UserId(alice.id));
        assert_eq!(first.conversation_id, ConversationId(id));
        let again = app.db().mark_read(message, UserId(bob.id)).await.unwrap().unwrap();
        assert!(!again.newly_read);
        assert_eq!(again.read_at, first.read_at);
        let eve = app.register("eve").await;
        assert_eq!(app.db().mark_read(message, UserId(eve.id)).await.unwrap(), None);
        assert_eq!(app.db().mark_read(MessageId(999_999), UserId(bob.id)).await.unwrap(), None);
    }

    async fn the_data_layer_answers_what_the_realtime_side_needs(app: TestApp) {
        let (alice, bob, id) = pair(&app).await;
        let eve = app.register("eve").await;
        let db = app.db();
        let conversation = ConversationId(id);
        assert!(db.is_participant(conversation, UserId(bob.id)).await.unwrap());
        assert!(!db.is_participant(conversation, UserId(eve.id)).await.unwrap());
        assert!(!db.is_participant(ConversationId(999), UserId(bob.id)).await.unwrap());
        assert_eq!(db.participant_ids(conversation).await.unwrap(), vec![UserId(alice.id), UserId(bob.id)]);
        assert_eq!(db.conversation_ids_of(UserId(alice.id)).await.unwrap(), vec![conversation]);
        assert_eq!(db.conversation_ids_of(UserId(eve.id)).await.unwrap(), vec![]);
        fill(&app, &alice, id, 2).await;
        assert_eq!(db.last_seq_for(conversation, UserId(bob.id)).await.unwrap(), Some(2));
        assert_eq!(db.last_seq_for(conversation, UserId(eve.id)).await.unwrap(), None);
        let cmid = uuid::Uuid::new_v4().to_string();
        let new = NewMessage { conversation_id: conversation, sender_id: UserId(eve.id), client_message_id: &cmid, text: "x" };
        assert_eq!(db.insert_message(new).await.unwrap(), InsertOutcome::NotParticipant);
        assert_eq!(db.last_seq_for(conversation, UserId(bob.id)).await.unwrap(), Some(2));
    }

    async fn concurrent_senders_get_gapless_seqs_and_repeats_get_their_original(app: TestApp) {
        // 8 tasks × 200 inserts into one conversation; in each task every other insert
        // repeats a clientMessageId used before (by this task or, racing, by another).
        const TASKS: usize = 8;
        const PER_TASK: usize = 200;
        let (alice, _bob, id) = pair(&app).await;
        let sender = UserId(alice.id);
        let conversation = ConversationId(id);
        // Fresh ids: task t, slot k. Repeats pick from ids of other tasks too, so some
        // repeats race their original.
        let fresh = |t: usize, k: usize| format!("00000000-0000-4000-8000-{:04}{:08}", t, k);
        let tasks = (0..TASKS).map(|t| {
            let db = app.db().clone();
            tokio::spawn(async move {
                let mut results = Vec::with_capacity(PER_TASK);
                for i in 0..PER_TASK {
                    let cmid = if i % 2 == 0 {
                        fresh(t, i / 2)
                    } else {
                        // An earlier id of the next task (maybe not stored yet), or our own.
                        let k = (i / 2 + t) % (i / 2 + 1);
                        if i % 4 == 1 { fresh((t + 1) % TASKS, k) } else { fresh(t, k) }
                    };
                    let text = format!("task {t} insert {i}");
                    let outcome = db
                        .insert_message(NewMessage { conversation_id: conversation, sender_id: sender, client_message_id: &cmid, text: &text })
                        .await
                        .unwrap();
                    results.push((cmid, outcome));
                }
                results
            })
        });
        let mut all = Vec::new();
        for task in join_all(tasks).await {
            all.extend(task.unwrap());
        }
        let mut by_cmid: HashMap<String, Vec<(i64, i64, bool)>> = HashMap::new();
        for (cmid, outcome) in &all {
            let (message, inserted) = match outcome {
                InsertOutcome::Inserted(m) => (m, true),
                InsertOutcome::Repeat(m) => (m, false),
                InsertOutcome::NotParticipant => panic!("alice is a participant"),
            };
            assert_eq!(message.client_message_id.as_deref(), Some(cmid.as_str()));
            by_cmid.entry(cmid.clone()).or_default().push((message.id.0, message.seq, inserted));
        }
        for (cmid, results) in &by_cmid {
            assert_eq!(results.iter().filter(|r| r.2).count(), 1, "{cmid} inserted exactly once");
            assert!(results.iter().all(|r| (r.0, r.1) == (results[0].0, results[0].1)), "{cmid}: {results:?}");
        }
        let distinct = by_cmid.len();
        assert_eq!(distinct, TASKS * PER_TASK / 2, "every fresh id is distinct and every repeat names one");
        // The stored history: exactly the distinct messages, seqs 1..n with no gap.
        let page = app
            .db()
            .history(conversation, server::db::HistoryQuery { after_seq: Some(0), limit: 500, ..Default::default() })
            .await
            .unwrap();
        let mut stored: BTreeMap<i64, String> = BTreeMap::new();
        let mut after = 0;
        let mut page = page;
        loop {
            for m in &page.messages {
                stored.insert(m.seq, m.client_message_id.clone().unwrap());
                after = m.seq;
            }
            if !page.has_more { break; }
            page = app
                .db()
                .history(conversation, server::db::HistoryQuery { after_seq: Some(after), limit: 500, ..Default::default() })
                .await
                .unwrap();
        }
        assert_eq!(stored.keys().copied().collect::<Vec<_>>(), (1..=distinct as i64).collect::<Vec<_>>());
        for (seq, cmid) in &stored {
            assert_eq!(by_cmid[cmid][0].1, *seq);
        }
        let last = app.db().last_seq_for(conversation, sender).await.unwrap();
        assert_eq!(last, Some(distinct as i64), "no seq was spent on a repeat ({:?})", app.backend == Backend::Postgres);
    }

    async fn inserts_arriving_together_keep_their_own_outcomes(app: TestApp) {
        // Everything below is in flight at once, so on PostgreSQL it is stored in shared
        // batches (group commit); each sender must still get what a lone insert would.
        let (alice, bob, a) = pair(&app).await;
        let eve = app.register("eve").await;
        let b = app.conversation(&alice, &[&eve], Some("b")).await["id"].as_i64().unwrap();
        let c = app.conversation(&bob, &[&eve], Some("c")).await["id"].as_i64().unwrap();
        let copied = uuid::Uuid::new_v4().to_string();
        let reused = uuid::Uuid::new_v4().to_string();
        // (sender, conversation, clientMessageId)
        let mut sends: Vec<(i64, i64, String)> = Vec::new();
        for i in 0..30 {
            let (sender, conversation) = [(alice.id, a), (alice.id, b), (bob.id, c)][i % 3];
            sends.push((sender, conversation, uuid::Uuid::new_v4().to_string()));
        }
        sends.extend((0..5).map(|_| (bob.id, a, copied.clone())));
        sends.push((eve.id, a, uuid::Uuid::new_v4().to_string()));
        sends.push((alice.id, a, reused.clone()));
        sends.push((alice.id, b, reused.clone()));
        let db = app.db();
        let outcomes = join_all(sends.iter().map(|(sender, conversation, cmid)| {
            db.insert_message(NewMessage {
                conversation_id: ConversationId(*conversation),
                sender_id: UserId(*sender),
                client_message_id: cmid,
                text: "together",
            })
        }))
        .await;
        let outcomes: Vec<InsertOutcome> = outcomes.into_iter().map(Result::unwrap).collect();

        let mut seqs: HashMap<i64, Vec<i64>> = HashMap::new();
        let mut copies = Vec::new();
        let mut reuses = Vec::new();
        for ((sender, conversation, cmid), outcome) in sends.iter().zip(&outcomes) {
            if *sender == eve.id {
                assert_eq!(outcome, &InsertOutcome::NotParticipant, "eve is not in {conversation}");
                continue;
            }
            let message = match outcome {
                InsertOutcome::Inserted(m) | InsertOutcome::Repeat(m) => m,
                InsertOutcome::NotParticipant => panic!("{sender} is in {conversation}"),
            };
            assert_eq!(message.client_message_id.as_deref(), Some(cmid.as_str()));
            assert_eq!(message.sender_id.0, *sender);
            if *cmid == copied {
                copies.push(outcome.clone());
            } else if *cmid == reused {
                reuses.push(outcome.clone());
            }
            if matches!(outcome, InsertOutcome::Inserted(_)) {
                assert_eq!(message.conversation_id.0, *conversation);
                seqs.entry(*conversation).or_default().push(message.seq);
            }
        }
        let inserted = |outcomes: &[InsertOutcome]| {
            outcomes.iter().filter(|o| matches!(o, InsertOutcome::Inserted(_))).count()
        };
        assert_eq!(inserted(&copies), 1, "five copies, one stored: {copies:?}");
        let ids: Vec<MessageId> = copies
            .iter()
            .filter_map(|o| match o {
                InsertOutcome::Inserted(m) | InsertOutcome::Repeat(m) => Some(m.id),
                InsertOutcome::NotParticipant => None,
            })
            .collect();
        assert_eq!(ids.len(), 5);
        assert!(ids.iter().all(|id| *id == ids[0]), "every copy answered with the stored one: {ids:?}");
        // The key reused in another conversation: stored once, the other send is told
        // about the stored one (which `messaging` turns into a conflict).
        assert_eq!(inserted(&reuses), 1, "{reuses:?}");
        // Gapless seqs in each conversation, and the counter agrees.
        for (conversation, mut got) in seqs {
            got.sort_unstable();
            let n = got.len() as i64;
            assert_eq!(got, (1..=n).collect::<Vec<_>>(), "conversation {conversation}");
            let member = if conversation == c { bob.id } else { alice.id };
            let last = db.last_seq_for(ConversationId(conversation), UserId(member)).await.unwrap();
            assert_eq!(last, Some(n), "conversation {conversation}'s counter spent no seq on repeats");
        }
    }

}

/// Group commit's one call on PostgreSQL, `insert_message_batch`, tested directly: a call
/// that failed would go unnoticed elsewhere, since the writer then stores each message
/// alone and every sender still gets the right answer, only slower.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postgres_batch_function_stores_finds_and_refuses_in_one_call() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    let (alice, bob, a) = pair(&app).await;
    let eve = app.register("eve").await;
    let before = app.store(&alice, a, "before").await;
    let pool = sqlx::PgPool::connect(app.database_url()).await.unwrap();
    let (one, two, eves) = (
        uuid::Uuid::new_v4().to_string(),
        uuid::Uuid::new_v4().to_string(),
        uuid::Uuid::new_v4().to_string(),
    );
    type Row = (bool, i64, i64, i64, i64, String, Option<String>, i64);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT inserted, id, conversation_id, seq, sender_id, text, client_message_id, created_at_ms \
         FROM insert_message_batch($1, $2, $3, $4)",
    )
    .bind(vec![a, a, a, a])
    .bind(vec![alice.id, eve.id, bob.id, alice.id])
    .bind(vec![one.clone(), eves, two.clone(), before.client_message_id.clone().unwrap()])
    .bind(vec!["one", "eve's", "two", "before, again"])
    .fetch_all(&pool)
    .await
    .unwrap();

    let find = |text: &str| {
        rows.iter()
            .find(|row| row.5 == text)
            .unwrap_or_else(|| panic!("no row {text}: {rows:?}"))
    };
    assert_eq!(
        rows.len(),
        3,
        "eve is not a participant: no row for her message: {rows:?}"
    );
    let (inserted, _, conversation, seq, sender, _, key, created_at_ms) = find("one").clone();
    assert!(inserted);
    assert_eq!(
        (conversation, seq, sender, key.as_deref()),
        (a, 2, alice.id, Some(one.as_str()))
    );
    assert!(created_at_ms > 0);
    let (inserted, two_id, _, seq, sender, _, key, _) = find("two").clone();
    assert!(inserted);
    assert_eq!(
        (seq, sender, key.as_deref()),
        (3, bob.id, Some(two.as_str())),
        "seqs follow the counter in batch order"
    );
    // The repeat is answered with the stored message, its text and seq unchanged.
    let (inserted, id, _, seq, ..) = find("before").clone();
    assert!(!inserted);
    assert_eq!((id, seq), (before.id.0, 1));

    // In the same transaction: the counter, the list's last message, the senders' watermarks.
    let (last_seq, last_message_id): (i64, Option<i64>) =
        sqlx::query_as("SELECT last_seq, last_message_id FROM conversations WHERE id = $1")
            .bind(a)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((last_seq, last_message_id), (3, Some(two_id)));
    let watermarks: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT user_id, last_read_seq FROM participants WHERE conversation_id = $1 ORDER BY user_id",
    )
    .bind(a)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(watermarks, vec![(alice.id, 2), (bob.id, 3)]);
    pool.close().await;
}
