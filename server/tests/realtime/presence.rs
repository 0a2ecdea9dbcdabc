//! Presence: counted over all of a user's sockets, told only to people who share a
//! conversation with the user.

use chat_test_support::socket::SioClient;
use chat_test_support::{new_id, on_both_backends, send_args, users_in_conversation};
use serde_json::json;

on_both_backends! {
    async fn a_user_is_offline_only_when_the_last_socket_is_gone(app: TestApp) {
        let (users, conversation) = users_in_conversation(&app, &["alice", "bob"]).await;
        let mut a = SioClient::connect(&app.address, &users[0].token).await;
        a.call("conversation:join", vec![json!(conversation)]).await;

        let b1 = SioClient::connect(&app.address, &users[1].token).await;
        assert_eq!(a.recv("user:online").await, json!(users[1].id));
        let mut b2 = SioClient::connect(&app.address, &users[1].token).await;
        b1.close();
        // Bob still has a socket: alice hears his message, and no offline before it.
        b2.call("message:send", send_args(conversation, &new_id(), "still on")).await;
        a.recv_without("message:new", &["user:offline", "user:online"]).await;
        b2.close();
        assert_eq!(a.recv("user:offline").await, json!(users[1].id));
    }

    async fn joining_announces_the_joiner_to_the_room(app: TestApp) {
        let (users, conversation) = users_in_conversation(&app, &["alice", "bob", "carol"]).await;
        let mut a = SioClient::connect(&app.address, &users[0].token).await;
        a.call("conversation:join", vec![json!(conversation)]).await;
        let mut b = SioClient::connect(&app.address, &users[1].token).await;
        assert_eq!(a.recv("user:online").await, json!(users[1].id));
        let ack = b.call("conversation:join", vec![json!(conversation)]).await;
        assert_eq!(ack["onlineUserIds"], json!([users[0].id, users[1].id]));
        assert_eq!(a.recv("user:online").await, json!(users[1].id), "announced on join too");
        let mut c = SioClient::connect(&app.address, &users[2].token).await;
        let ack = c.call("conversation:join", vec![json!(conversation)]).await;
        assert_eq!(ack["onlineUserIds"], json!([users[0].id, users[1].id, users[2].id]));
        assert_eq!(b.recv("user:online").await, json!(users[2].id));
    }

    async fn presence_never_reaches_someone_who_shares_no_conversation(app: TestApp) {
        let (users, conversation) = users_in_conversation(&app, &["alice", "bob"]).await;
        let (strangers, other) = users_in_conversation(&app, &["stranger", "friend"]).await;
        let mut s = SioClient::connect(&app.address, &strangers[0].token).await;
        s.call("conversation:join", vec![json!(other)]).await;
        // Even trying to join alice's conversation does not put the stranger in its room.
        s.call("conversation:join", vec![json!(conversation)]).await;
        let a = SioClient::connect(&app.address, &users[0].token).await;
        let b = SioClient::connect(&app.address, &users[1].token).await;
        a.close();
        b.close();
        // The friend's arrival is the first presence the stranger hears.
        let _f = SioClient::connect(&app.address, &strangers[1].token).await;
        let (before, online) = s.recv_after("user:online").await;
        assert_eq!(online[0], json!(strangers[1].id));
        assert!(before.is_empty(), "{before:?}");
    }
}
