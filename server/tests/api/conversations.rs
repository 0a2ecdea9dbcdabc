//! Creating and listing conversations.

use chat_test_support::{assert_error, on_both_backends};
use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_backends! {
    async fn a_direct_conversation_is_created_once_per_pair(app: TestApp) {
        let alice = app.register("alice").await;
        let bob = app.register("bob").await;
        let first = app.post("/api/conversations", Some(&alice.token), &json!({"participantIds": [bob.id]})).await;
        assert_eq!(first.status(), StatusCode::CREATED);
        let first: Value = first.json().await.unwrap();
        assert_eq!(first["kind"], "direct");
        assert_eq!(first["title"], Value::Null);
        assert_eq!(first["participantIds"], json!([alice.id, bob.id]));
        assert_eq!(first["lastSeq"], 0);

        // Asking again, from either side, gives the same conversation with 200.
        let again = app.post("/api/conversations", Some(&alice.token), &json!({"participantIds": [bob.id]})).await;
        assert_eq!(again.status(), StatusCode::OK);
        assert_eq!(again.json::<Value>().await.unwrap(), first);
        let from_bob = app
            .post("/api/conversations", Some(&bob.token), &json!({"participantIds": [alice.id, bob.id]}))
            .await;
        assert_eq!(from_bob.status(), StatusCode::OK);
        assert_eq!(from_bob.json::<Value>().await.unwrap()["id"], first["id"]);
    }

    async fn concurrent_requests_for_a_direct_conversation_get_one(app: TestApp) {
        let alice = app.register("alice").await;
        let bob = app.register("bob").await;
        let requests = (0..8).map(|i| {
            let (app, alice, bob) = (&app, &alice, &bob);
            async move {
                let (me, other) = if i % 2 == 0 { (alice, bob) } else { (bob, alice) };
                let response = app.post("/api/conversations", Some(&me.token), &json!({"participantIds": [other.id]})).await;
                let status = response.status();
                (status, response.json::<Value>().await.unwrap()["id"].as_i64().unwrap())
            }
        });
        let results = join_all(requests).await;
        let created = results.iter().filter(|(s, _)| *s == StatusCode::CREATED).count();
        assert_eq!(created, 1, "{results:?}");
        assert!(results.iter().all(|(_, id)| *id == results[0].1), "{results:?}");
        let listed: Value = app.get("/api/conversations", Some(&alice.token)).await.json().await.unwrap();
        assert_eq!(listed.as_array().unwrap().len(), 1);
    }

    async fn a_titled_or_larger_conversation_is_a_new_group_each_time(app: TestApp) {
        let alice = app.register("alice").await;
        let bob = app.register("bob").await;
        let carol = app.register("carol").await;
        let titled = app.conversation(&alice, &[&bob], Some("plans")).await;
        let titled_again = app.post(
            "/api/conversations",
            Some(&alice.token),
            &json!({"participantIds": [bob.id], "title": "plans"}),
        ).await;
        assert_eq!(titled_again.status(), StatusCode::CREATED);
        assert_ne!(titled_again.json::<Value>().await.unwrap()["id"], titled["id"]);
        assert_eq!(titled["kind"], "group");
        assert_eq!(titled["title"], "plans");
        let three = app.conversation(&alice, &[&bob, &carol], None).await;
        assert_eq!(three["kind"], "group");
        assert_eq!(three["participantIds"], json!([alice.id, bob.id, carol.id]));
        let three_again = app.conversation(&alice, &[&bob, &carol], None).await;
        assert_ne!(three_again["id"], three["id"]);
    }

    async fn participant_ids_with_unknown_users_are_refused_and_leave_nothing(app: TestApp) {
        let alice = app.register("alice").await;
        let bob = app.register("bob").await;
        let mut messages = Vec::new();
        for ids in [json!([bob.id, 9999]), json!([9999]), json!([0]), json!([-1]), json!([bob.id, i64::MAX])] {
            let response = app.post("/api/conversations", Some(&alice.token), &json!({"participantIds": ids})).await;
            let body = assert_error(response, StatusCode::BAD_REQUEST, "bad_request").await;
            messages.push(body["error"]["message"].as_str().unwrap().to_owned());
        }
        // One message whatever the ids: it does not say which ones exist.
        assert!(messages.iter().all(|m| *m == messages[0] && !m.contains("9999")), "{messages:?}");
        let listed: Value = app.get("/api/conversations", Some(&alice.token)).await.json().await.unwrap();
        assert_eq!(listed, json!([]));
        let listed: Value = app.get("/api/conversations", Some(&bob.token)).await.json().await.unwrap();
        assert_eq!(listed, json!([]));
        // And the pair's direct conversation can still be made afterwards.
        let direct = app.post("/api/conversations", Some(&alice.token), &json!({"participantIds": [bob.id]})).await;
        assert_eq!(direct.status(), StatusCode::CREATED);
    }

    async fn duplicate_participant_ids_count_once(app: TestApp) {
        let alice = app.register("alice").await;
        let bob = app.register("bob").await;
        let response = app
            .post("/api/conversations", Some(&alice.token), &json!({"participantIds": [bob.id, bob.id, alice.id, bob.id]}))
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["kind"], "direct");
        assert_eq!(body["participantIds"], json!([alice.id, bob.id]));
    }

    async fn a_conversation_of_only_the_caller_is_refused(app: TestApp) {
        let alice = app.register("alice").await;
        for ids in [json!([]), json!([alice.id]), json!([alice.id, alice.id])] {
            let response = app.post("/api/conversations", Some(&alice.token), &json!({"participantIds": ids})).await;
            assert_error(response, StatusCode::BAD_REQUEST, "bad_request").await;
        }
    }

    async fn titles_that_are_too_long_or_have_control_characters_are_refused(app: TestApp) {
        let alice = app.register("alice").await;
        let bob = app.register("bob").await;
        for title in ["x".repeat(101), "a\u{7}b".to_owned()] {
            let response = app
                .post("/api/conversations", Some(&alice.token), &json!({"participantIds": [bob.id], "title": title}))
                .await;
            assert_error(response, StatusCode::BAD_REQUEST, "bad_request").await;
        }
        // A blank title is no title: the pair's direct conversation.
        let blank = app.conversation(&alice, &[&bob], Some("   ")).await;
        assert_eq!(blank["kind"], "direct");
    }

    async fn users_see_only_their_own_conversations(app: TestApp) {
        let alice = app.register("alice").await;
        let bob = app.register("bob").await;
        let carol = app.register("carol").await;
        let ab = app.conversation(&alice, &[&bob], None).await;
        let bc = app.conversation(&bob, &[&carol], Some("bc")).await;
        // Each item is the conversation plus what the list shows of it (tests/api/list.rs).
        let ids = |list: Value| -> Vec<Value> { list.as_array().unwrap().iter().map(|c| c["id"].clone()).collect() };
        let for_alice: Value = app.get("/api/conversations", Some(&alice.token)).await.json().await.unwrap();
        for field in ["id", "kind", "title", "participantIds", "lastSeq"] {
            assert_eq!(for_alice[0][field], ab[field], "{field}");
        }
        assert_eq!(ids(for_alice), vec![ab["id"].clone()]);
        let for_bob: Value = app.get("/api/conversations", Some(&bob.token)).await.json().await.unwrap();
        assert_eq!(ids(for_bob), vec![bc["id"].clone(), ab["id"].clone()], "newest first");
    }
}
