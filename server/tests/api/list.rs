//! The conversation list (SPEC.md section 9): names, last message, unread counts and
//! watermarks, ordered by activity and paged; nothing about other people's conversations.

use chat_test_support::{TestApp, TestUser, assert_error, on_both_backends};
use chat_wire::{ConversationId, UserId};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn list(app: &TestApp, user: &TestUser, query: &str) -> Vec<Value> {
    let response = app
        .get(&format!("/api/conversations{query}"), Some(&user.token))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body.as_array().unwrap().clone()
}

fn item(list: &[Value], id: i64) -> &Value {
    list.iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("{id} not in {list:?}"))
}

on_both_backends! {
    async fn the_list_shows_names_the_last_message_unread_counts_and_watermarks(app: TestApp) {
        let alice = app.register("alice").await;
        let bob = app.register("bob").await;
        let carol = app.register("carol").await;
        let group = app.conversation(&alice, &[&bob, &carol], Some("trio")).await["id"].as_i64().unwrap();
        let direct = app.conversation(&alice, &[&bob], None).await["id"].as_i64().unwrap();

        let fresh = list(&app, &alice, "").await;
        let empty = item(&fresh, direct);
        assert_eq!(empty["lastMessage"], Value::Null);
        assert_eq!(empty["unreadCount"], 0);
        assert_eq!(empty["lastReadSeq"], 0);
        assert_eq!(empty["kind"], "direct");
        assert_eq!(empty["participantIds"], json!([alice.id, bob.id]));

        app.store(&bob, group, "one").await;
        app.store(&bob, group, "two").await;
        app.store(&carol, group, "three").await;

        let for_alice = list(&app, &alice, "").await;
        let g = item(&for_alice, group);
        assert_eq!(g["title"], "trio");
        assert_eq!(g["lastSeq"], 3);
        assert_eq!(g["unreadCount"], 3);
        assert_eq!(g["lastReadSeq"], 0);
        assert_eq!(g["lastMessage"]["text"], "three");
        assert_eq!(g["lastMessage"]["senderId"], carol.id);
        assert_eq!(g["lastMessage"]["seq"], 3);
        assert_eq!(g["activityAt"], g["lastMessage"]["createdAt"]);
        assert_eq!(
            g["participants"],
            json!([
                { "id": alice.id, "username": "alice" },
                { "id": bob.id, "username": "bob" },
                { "id": carol.id, "username": "carol" },
            ])
        );
        // Sending is having seen: bob is at 2 (his own), carol at 3.
        let seqs = json!({ alice.id.to_string(): 0, bob.id.to_string(): 2, carol.id.to_string(): 3 });
        assert_eq!(g["readSeqs"], seqs);
        assert_eq!(item(&list(&app, &bob, "").await, group)["unreadCount"], 1);
        assert_eq!(item(&list(&app, &carol, "").await, group)["unreadCount"], 0);

        // Alice reads up to 2, then replies: her reply moves her to 4, past carol's 3.
        let read = app.db().raise_read_seq(ConversationId(group), UserId(alice.id), 2).await.unwrap().unwrap();
        assert_eq!((read.last_read_seq, read.moved), (2, true));
        assert_eq!(item(&list(&app, &alice, "").await, group)["unreadCount"], 1);
        app.store(&alice, group, "four").await;
        let g = item(&list(&app, &alice, "").await, group).clone();
        assert_eq!((g["unreadCount"].clone(), g["lastReadSeq"].clone()), (json!(0), json!(4)));
        assert_eq!(item(&list(&app, &bob, "").await, group)["unreadCount"], 2);
        // The group has the newest activity now.
        assert_eq!(list(&app, &alice, "").await[0]["id"], group);
    }

    async fn the_list_is_ordered_by_activity_then_id_and_pages_through_everything(app: TestApp) {
        let alice = app.register("alice").await;
        let mut others = Vec::new();
        for i in 0..7 {
            others.push(app.register(&format!("user{i}")).await);
        }
        let mut ids = Vec::new();
        for other in &others {
            ids.push(app.conversation(&alice, &[other], None).await["id"].as_i64().unwrap());
        }
        // Activity in this order: ids[3], ids[0], ids[5]; the rest by creation. Times are
        // milliseconds: each store waits for the next one so that the order is by time,
        // not by the id tie-break (which the creations, quicker, also exercise).
        for &at in &[3, 0, 5] {
            tokio::time::sleep(std::time::Duration::from_millis(3)).await;
            app.store(&others[at], ids[at], "news").await;
        }
        let all = list(&app, &alice, "").await;
        let order: Vec<i64> = all.iter().map(|c| c["id"].as_i64().unwrap()).collect();
        assert_eq!(&order[..3], &[ids[5], ids[0], ids[3]]);
        // Then the ones without messages: newest creation first (ties by id, descending).
        assert_eq!(&order[3..], &[ids[6], ids[4], ids[2], ids[1]]);
        let keys: Vec<(&str, i64)> = all.iter().map(|c| (c["activityAt"].as_str().unwrap(), c["id"].as_i64().unwrap())).collect();
        assert!(keys.windows(2).all(|w| w[0] > w[1]), "newest first, then id: {keys:?}");

        // Pages of 3 through before/beforeId give the same list, each item once.
        let mut paged = Vec::new();
        let mut query = "?limit=3".to_owned();
        loop {
            let page = list(&app, &alice, &query).await;
            assert!(page.len() <= 3);
            let Some(last) = page.last() else { break };
            query = format!(
                "?limit=3&before={}&beforeId={}",
                last["activityAt"].as_str().unwrap(),
                last["id"]
            );
            paged.extend(page.iter().map(|c| c["id"].as_i64().unwrap()));
        }
        assert_eq!(paged, order);
        // `before` alone: strictly older than that instant.
        let newest = &all[0];
        let older = list(&app, &alice, &format!("?before={}", newest["activityAt"].as_str().unwrap())).await;
        assert!(older.iter().all(|c| c["activityAt"].as_str() < newest["activityAt"].as_str()));
    }

    async fn list_parameters_out_of_range_are_refused(app: TestApp) {
        let alice = app.register("alice").await;
        for query in [
            "limit=0", "limit=501", "limit=-1", "limit=ten", "limit=1.5",
            "before=yesterday", "before=", "beforeId=5", "before=1000&beforeId=0",
            "before=1000&beforeId=-3", "before=1000&beforeId=x",
        ] {
            let response = app.get(&format!("/api/conversations?{query}"), Some(&alice.token)).await;
            let body = assert_error(response, StatusCode::BAD_REQUEST, "bad_request").await;
            let message = body["error"]["message"].as_str().unwrap();
            assert!(message.contains("limit") || message.contains("before"), "{query}: {message}");
        }
        assert_eq!(list(&app, &alice, "?limit=500").await, Vec::<Value>::new());
        assert_eq!(list(&app, &alice, "?limit=1&before=2026-11-26T10:00:00.000Z&beforeId=3").await, Vec::<Value>::new());
    }

    async fn non_participants_learn_nothing_from_the_list_or_the_watermarks(app: TestApp) {
        let alice = app.register("alice").await;
        let bob = app.register("bob").await;
        let mallory = app.register("mallory").await;
        let ab = app.conversation(&alice, &[&bob], None).await["id"].as_i64().unwrap();
        app.store(&alice, ab, "secret").await;
        assert_eq!(list(&app, &mallory, "").await, Vec::<Value>::new());
        let db = app.db();
        // Someone else's conversation and no such conversation: the same answer.
        assert_eq!(db.raise_read_seq(ConversationId(ab), UserId(mallory.id), 1).await.unwrap(), None);
        assert_eq!(db.raise_read_seq(ConversationId(987_654), UserId(mallory.id), 1).await.unwrap(), None);
        let for_bob = list(&app, &bob, "").await;
        assert_eq!(for_bob.len(), 1);
        assert!(!for_bob[0].to_string().contains("mallory"));
    }
}
