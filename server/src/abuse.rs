//! The limits on what one client address or one signed-in user can make the REST API do
//! (docs/SECURITY.md): sign-in attempts per address and per username, authenticated
//! requests per user, conversations created per user (token buckets in memory, per
//! node), and participants per new conversation.

use crate::config::Config;
use crate::error::AppError;
use crate::rate_limit::RateLimiter;
use chat_wire::UserId;
use std::net::IpAddr;
use std::time::Duration;

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

/// The buckets, shared by every request of a node.
#[derive(Debug)]
pub struct AbuseLimits {
    /// Register and login, by peer address.
    auth_by_address: RateLimiter<IpAddr>,
    /// Login, by the username's key ([`crate::names::username_key`]), so that guessing
    /// one account's password from many addresses is slow too.
    login_by_username: RateLimiter<String>,
    /// Every authenticated REST request.
    rest_by_user: RateLimiter<UserId>,
    /// `POST /api/conversations`.
    conversations_by_user: RateLimiter<UserId>,
    /// Most participants a new conversation may name (`MAX_PARTICIPANTS`).
    max_participants: usize,
}

impl AbuseLimits {
    pub fn new(config: &Config) -> AbuseLimits {
        AbuseLimits {
            auth_by_address: RateLimiter::per_period(config.auth_attempts_per_address, MINUTE),
            login_by_username: RateLimiter::per_period(config.auth_attempts_per_username, MINUTE),
            rest_by_user: RateLimiter::per_period(config.rest_requests_per_user, MINUTE),
            conversations_by_user: RateLimiter::per_period(config.conversations_per_user, HOUR),
            max_participants: usize::try_from(config.max_participants).unwrap_or(usize::MAX),
        }
    }

    /// A register or login attempt from `address`.
    pub fn auth_attempt(&self, address: IpAddr) -> Result<(), AppError> {
        self.auth_by_address
            .check(address)
            .map_err(|retry| AppError::Throttled("Too many sign-in attempts", retry))
    }

    /// A login attempt for the account whose username key is `key`.
    pub fn login_attempt(&self, key: String) -> Result<(), AppError> {
        self.login_by_username
            .check(key)
            .map_err(|retry| AppError::Throttled("Too many sign-in attempts", retry))
    }

    /// An authenticated REST request from `user`.
    pub fn rest_request(&self, user: UserId) -> Result<(), AppError> {
        self.rest_by_user
            .check(user)
            .map_err(|retry| AppError::Throttled("Too many requests", retry))
    }

    /// A new conversation naming `named` participants (the caller excluded).
    pub fn participants(&self, named: usize) -> Result<(), AppError> {
        if named > self.max_participants {
            return Err(AppError::BadRequest(format!(
                "at most {} participants",
                self.max_participants
            )));
        }
        Ok(())
    }

    /// A conversation created by `user`.
    pub fn conversation_created(&self, user: UserId) -> Result<(), AppError> {
        self.conversations_by_user
            .check(user)
            .map_err(|retry| AppError::Throttled("Too many new conversations", retry))
    }
}
