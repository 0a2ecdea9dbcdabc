//! Read receipts: stored once per (message, reader), told to the sender once.

use chat_test_support::socket::SioClient;
use chat_test_support::{
    assert_failure, new_id, on_both_backends, send_args, users_in_conversation,
};
use serde_json::json;

on_both_backends! {
    async fn a_read_is_told_to_the_senders_sockets_once(app: TestApp) {
        let (users, conversation) = users_in_conversation(&app, &["alice", "bob", "carol"]).await;
        let mut a = SioClient::connect(&app.address, &users[0].token).await;
        let mut a2 = SioClient::connect(&app.address, &users[0].token).await;
        let mut b = SioClient::connect(&app.address, &users[1].token).await;
        let mut c = SioClient::connect(&app.address, &users[2].token).await;
        let sent = a.call("message:send", send_args(conversation, &new_id(), "read me")).await;
        let id = sent["messageId"].clone();

        assert_eq!(b.call("message:read", vec![id.clone()]).await, json!({ "success": true }));
        for s in [&mut a, &mut a2] {
            let receipt = s.recv("message:read").await;
            assert_eq!(receipt["messageId"], id);
            assert_eq!(receipt["conversationId"], conversation);
            assert_eq!(receipt["readBy"], users[1].id);
            assert!(receipt["readAt"].as_str().unwrap().ends_with('Z'));
        }
        // Reading again answers success and tells nobody; carol's read is the next receipt.
        assert_eq!(b.call("message:read", vec![id.clone()]).await["success"], true);
        assert_eq!(c.call("message:read", vec![id.clone()]).await["success"], true);
        let receipt = a.recv("message:read").await;
        assert_eq!(receipt["readBy"], users[2].id);
    }

    async fn reading_your_own_or_an_invisible_message_is_refused(app: TestApp) {
        let (users, conversation) = users_in_conversation(&app, &["alice", "bob"]).await;
        let mallory = app.register("mallory").await;
        let mut a = SioClient::connect(&app.address, &users[0].token).await;
        let sent = a.call("message:send", send_args(conversation, &new_id(), "mine")).await;
        let id = sent["messageId"].clone();
        assert_failure(&a.call("message:read", vec![id.clone()]).await, "bad_request");
        let mut m = SioClient::connect(&app.address, &mallory.token).await;
        let invisible = m.call("message:read", vec![id.clone()]).await;
        assert_failure(&invisible, "forbidden");
        let missing = m.call("message:read", vec![json!(987_654_321)]).await;
        assert_eq!(missing, invisible, "no such message looks the same");
    }
}
