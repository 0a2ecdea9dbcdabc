//! Accounts.

use super::{Db, DbError, is_unique_violation, with_pool};
use crate::names::username_key;
use chat_wire::UserId;
use chat_wire::rest::User;

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    username: String,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> User {
        User {
            id: UserId(row.id),
            username: row.username,
        }
    }
}

/// A user and the stored Argon2 hash, for login.
#[derive(Debug)]
pub struct UserCredentials {
    pub user: User,
    pub password_hash: String,
}

#[derive(sqlx::FromRow)]
struct CredentialsRow {
    id: i64,
    username: String,
    password_hash: String,
}

impl Db {
    /// Creates a user; `None` when the username, or another with the same key
    /// ([`username_key`]), is taken.
    pub async fn create_user(
        &self,
        username: &str,
        password_hash: &str,
    ) -> Result<Option<User>, DbError> {
        let key = username_key(username);
        let result = with_pool!(self, write, |pool, _d| {
            sqlx::query_as::<_, UserRow>(
                "INSERT INTO users (username, username_key, password_hash) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING RETURNING id, username",
            )
            .bind(username)
            .bind(&key)
            .bind(password_hash)
            .fetch_optional(pool)
            .await
        });
        match result {
            Ok(row) => Ok(row.map(User::from)),
            // ON CONFLICT covers it; kept for a race the planner could still surface.
            Err(e) if is_unique_violation(&e) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The account `username` signs in to: the one of that exact name, else the one
    /// holding its key (any case or Unicode form of the name).
    pub async fn user_credentials(
        &self,
        username: &str,
    ) -> Result<Option<UserCredentials>, DbError> {
        if !could_exist(username) {
            return Ok(None);
        }
        let key = username_key(username);
        let row = with_pool!(self, read, |pool, _d| {
            sqlx::query_as::<_, CredentialsRow>(
                "SELECT id, username, password_hash FROM users \
                 WHERE username = $1 OR username_key = $2 \
                 ORDER BY CASE WHEN username = $1 THEN 0 ELSE 1 END LIMIT 1",
            )
            .bind(username)
            .bind(&key)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(|r| UserCredentials {
            user: User {
                id: UserId(r.id),
                username: r.username,
            },
            password_hash: r.password_hash,
        }))
    }

    pub async fn user_by_id(&self, id: UserId) -> Result<Option<User>, DbError> {
        let row = with_pool!(self, read, |pool, _d| {
            sqlx::query_as::<_, UserRow>("SELECT id, username FROM users WHERE id = $1")
                .bind(id.0)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(User::from))
    }

    pub async fn user_by_username(&self, username: &str) -> Result<Option<User>, DbError> {
        if !could_exist(username) {
            return Ok(None);
        }
        let row = with_pool!(self, read, |pool, _d| {
            sqlx::query_as::<_, UserRow>("SELECT id, username FROM users WHERE username = $1")
                .bind(username)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(User::from))
    }

    /// Fills `username_key` where it is missing (rows from before the column existed),
    /// oldest first; a row whose key an older row already holds keeps NULL (see the
    /// migration `username_key`). Returns how many rows got their key.
    pub async fn fill_username_keys(&self) -> Result<u64, DbError> {
        let rows: Vec<UserRow> = with_pool!(self, write, |pool, _d| {
            sqlx::query_as("SELECT id, username FROM users WHERE username_key IS NULL ORDER BY id")
                .fetch_all(pool)
                .await?
        });
        let mut filled = 0;
        for row in rows {
            let key = username_key(&row.username);
            let done = with_pool!(self, write, |pool, _d| {
                sqlx::query(
                    "UPDATE users SET username_key = $1 WHERE id = $2 \
                     AND NOT EXISTS (SELECT 1 FROM users WHERE username_key = $1)",
                )
                .bind(&key)
                .bind(row.id)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
            });
            match done {
                Ok(rows) => filled += rows,
                // Another node filled the same key a moment ago.
                Err(e) if is_unique_violation(&e) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(filled)
    }
}

/// False for a name no user can have because PostgreSQL cannot store it: text with a
/// NUL, which it refuses with an error (a 500 on login and lookup, found by the fuzzer).
/// Registration refuses control characters, so such a user does not exist on SQLite
/// either.
fn could_exist(username: &str) -> bool {
    !username.contains('\0')
}
