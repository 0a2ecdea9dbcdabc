//! Accounts.

use super::{Db, DbError, is_unique_violation, with_pool};
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
    /// Creates a user; `None` when the username is taken.
    pub async fn create_user(
        &self,
        username: &str,
        password_hash: &str,
    ) -> Result<Option<User>, DbError> {
        let result = with_pool!(self, write, |pool, _d| {
            sqlx::query_as::<_, UserRow>(
                "INSERT INTO users (username, password_hash) VALUES ($1, $2) \
                 ON CONFLICT (username) DO NOTHING RETURNING id, username",
            )
            .bind(username)
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

    pub async fn user_credentials(
        &self,
        username: &str,
    ) -> Result<Option<UserCredentials>, DbError> {
        if !could_exist(username) {
            return Ok(None);
        }
        let row = with_pool!(self, read, |pool, _d| {
            sqlx::query_as::<_, CredentialsRow>(
                "SELECT id, username, password_hash FROM users WHERE username = $1",
            )
            .bind(username)
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
}

/// False for a name no user can have because PostgreSQL cannot store it: text with a
/// NUL, which it refuses with an error (a 500 on login and lookup, found by the fuzzer).
/// Registration refuses control characters, so such a user does not exist on SQLite
/// either.
fn could_exist(username: &str) -> bool {
    !username.contains('\0')
}
