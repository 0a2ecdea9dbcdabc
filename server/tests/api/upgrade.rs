//! A database made by the previous migrations, with data, upgrades in place: the read
//! state migration fills the list's columns and the watermarks from what was stored.

use chat_test_support::TestDatabase;
use chat_wire::UserId;
use server::db::{Db, ListQuery};
use sqlx::migrate::Migrator;
use std::path::Path;

/// The last migration before read state.
const BEFORE_READ_STATE: i64 = 20261126000001;

/// Applies the migrations up to [`BEFORE_READ_STATE`] to `$pool` and stores a group of
/// alice and bob (seqs 1 by alice, 2 and 3 by bob; alice's receipt on 2) and an empty
/// direct conversation; evaluates to `(alice, bob, group, direct)`.
macro_rules! seed_previous_schema {
    ($pool:expr, $dir:literal) => {{
        let pool = $pool;
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join($dir);
        let migrator = Migrator::new(dir).await.unwrap();
        migrator.run_to(BEFORE_READ_STATE, &pool).await.unwrap();
        let mut user = Vec::new();
        for name in ["alice", "bob"] {
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO users (username, password_hash) VALUES ($1, 'x') RETURNING id",
            )
            .bind(name)
            .fetch_one(&pool)
            .await
            .unwrap();
            user.push(id);
        }
        let (alice, bob) = (user[0], user[1]);
        let mut conversations = Vec::new();
        for (kind, key, last_seq) in [
            ("group", None, 3_i64),
            ("direct", Some(format!("{alice}:{bob}")), 0),
        ] {
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO conversations (kind, title, direct_key, last_seq) \
                 VALUES ($1, NULL, $2, $3) RETURNING id",
            )
            .bind(kind)
            .bind(key)
            .bind(last_seq)
            .fetch_one(&pool)
            .await
            .unwrap();
            for member in [alice, bob] {
                sqlx::query("INSERT INTO participants (conversation_id, user_id) VALUES ($1, $2)")
                    .bind(id)
                    .bind(member)
                    .execute(&pool)
                    .await
                    .unwrap();
            }
            conversations.push(id);
        }
        let group = conversations[0];
        let mut message_ids = Vec::new();
        for (seq, sender) in [(1_i64, alice), (2, bob), (3, bob)] {
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO messages (conversation_id, seq, sender_id, text, client_message_id) \
                 VALUES ($1, $2, $3, $4, NULL) RETURNING id",
            )
            .bind(group)
            .bind(seq)
            .bind(sender)
            .bind(format!("message {seq}"))
            .fetch_one(&pool)
            .await
            .unwrap();
            message_ids.push(id);
        }
        sqlx::query("INSERT INTO read_receipts (message_id, user_id) VALUES ($1, $2)")
            .bind(message_ids[1])
            .bind(alice)
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        (alice, bob, group, conversations[1])
    }};
}

async fn upgrade_and_check(url: &str, (alice, bob, group, direct): (i64, i64, i64, i64)) {
    // Connecting applies the rest of the migrations.
    let db = Db::connect(url).await.expect("the upgrade applies");
    let query = ListQuery {
        before: None,
        limit: 500,
    };
    let for_alice = db.conversation_list(UserId(alice), query).await.unwrap();
    assert_eq!(for_alice.len(), 2);
    let g = &for_alice[0];
    assert_eq!(
        g.conversation.id.0, group,
        "the group has the newest activity"
    );
    let last = g.last_message.as_ref().expect("the last message was found");
    assert_eq!((last.seq, last.text.as_str()), (3, "message 3"));
    assert_eq!(g.activity_at, last.created_at);
    // Alice: her receipt on seq 2 (above her own message, seq 1). Bob: his own seq 3.
    assert_eq!(g.last_read_seq, 2);
    assert_eq!(g.unread_count, 1);
    assert_eq!(g.read_seqs.get(UserId(bob)), Some(3));
    let d = &for_alice[1];
    assert_eq!(d.conversation.id.0, direct);
    assert!(d.last_message.is_none());
    assert_eq!((d.last_read_seq, d.unread_count), (0, 0));
    let for_bob = db.conversation_list(UserId(bob), query).await.unwrap();
    assert_eq!((for_bob[0].last_read_seq, for_bob[0].unread_count), (3, 0));

    // And the upgraded database goes on working: a new message in the direct
    // conversation moves it to the top.
    let sent = db
        .insert_message(server::db::NewMessage {
            conversation_id: chat_wire::ConversationId(direct),
            sender_id: UserId(bob),
            client_message_id: "6f1c1a9e-3f5e-4c1a-9a51-0c2f4b8e7d10",
            text: "after the upgrade",
        })
        .await
        .unwrap();
    assert!(
        matches!(sent, server::db::InsertOutcome::Inserted(_)),
        "{sent:?}"
    );
    let again = db.conversation_list(UserId(alice), query).await.unwrap();
    assert_eq!(again[0].conversation.id.0, direct);
    assert_eq!(again[0].unread_count, 1);
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_database_of_the_previous_migration_upgrades_in_place() {
    let database = TestDatabase::sqlite();
    let options: sqlx::sqlite::SqliteConnectOptions = database
        .url
        .parse::<sqlx::sqlite::SqliteConnectOptions>()
        .unwrap()
        .create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    let seeded = seed_previous_schema!(pool, "../migrations/sqlite");
    upgrade_and_check(&database.url, seeded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_database_of_the_previous_migration_upgrades_in_place() {
    let Some(database) = TestDatabase::postgres().await else {
        return;
    };
    let pool = sqlx::PgPool::connect(&database.url).await.unwrap();
    let seeded = seed_previous_schema!(pool, "../migrations/postgres");
    upgrade_and_check(&database.url, seeded).await;
}

/// The last migration before usernames had a unique key.
const BEFORE_USERNAME_KEY: i64 = 20261204000001;

/// Users of the schema before `username_key`, three of whose names differ only in
/// case (oldest first); evaluates to their ids.
macro_rules! seed_lookalike_users {
    ($pool:expr, $dir:literal) => {{
        let pool = $pool;
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join($dir);
        let migrator = Migrator::new(dir).await.unwrap();
        migrator.run_to(BEFORE_USERNAME_KEY, &pool).await.unwrap();
        let mut ids = Vec::new();
        for name in ["alice", "Alice", "ALICE", "Bob"] {
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO users (username, password_hash) VALUES ($1, 'x') RETURNING id",
            )
            .bind(name)
            .fetch_one(&pool)
            .await
            .unwrap();
            ids.push(id);
        }
        pool.close().await;
        ids
    }};
}

/// After the upgrade: the oldest of the colliding names holds the key, the others still
/// sign in with their exact name, and no new lookalike can be registered.
async fn upgrade_and_check_usernames(url: &str, ids: Vec<i64>) {
    let db = Db::connect(url).await.expect("the upgrade applies");
    let (alice, alice_2, alice_3, bob) = (ids[0], ids[1], ids[2], ids[3]);
    let signs_in = async |name: &str| {
        db.user_credentials(name)
            .await
            .unwrap()
            .map(|c| c.user.id.0)
    };
    assert_eq!(signs_in("alice").await, Some(alice));
    assert_eq!(signs_in("Alice").await, Some(alice_2));
    assert_eq!(signs_in("ALICE").await, Some(alice_3));
    assert_eq!(signs_in("aLiCe").await, Some(alice), "the key's holder");
    assert_eq!(signs_in("bob").await, Some(bob));
    for taken in ["ALIce", "Ａｌｉｃｅ", "BOB"] {
        assert!(
            db.create_user(taken, "x").await.unwrap().is_none(),
            "{taken}"
        );
    }
    assert!(db.create_user("carol", "x").await.unwrap().is_some());
    // Starting again changes nothing.
    assert_eq!(db.fill_username_keys().await.unwrap(), 0);
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_database_with_lookalike_usernames_upgrades_in_place() {
    let database = TestDatabase::sqlite();
    let options: sqlx::sqlite::SqliteConnectOptions = database
        .url
        .parse::<sqlx::sqlite::SqliteConnectOptions>()
        .unwrap()
        .create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    let ids = seed_lookalike_users!(pool, "../migrations/sqlite");
    upgrade_and_check_usernames(&database.url, ids).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_database_with_lookalike_usernames_upgrades_in_place() {
    let Some(database) = TestDatabase::postgres().await else {
        return;
    };
    let pool = sqlx::PgPool::connect(&database.url).await.unwrap();
    let ids = seed_lookalike_users!(pool, "../migrations/postgres");
    upgrade_and_check_usernames(&database.url, ids).await;
}
