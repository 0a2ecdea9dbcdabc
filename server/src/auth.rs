//! Authentication: JWTs (HS256 only) and Argon2 password hashes.
//!
//! [`JwtKeys::verify`] is what the Socket.IO handshake calls too; [`AuthUser`] is the
//! REST extractor over it.

use crate::abuse::AbuseLimits;
use crate::error::AppError;
use crate::hashing::HashingThreads;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Argon2, Params};
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use chat_wire::UserId;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Clock skew tolerated on `exp`, between nodes and between a node and the client.
pub const JWT_LEEWAY_SECS: u64 = 30;

/// The claims of our tokens (SPEC.md section 2): `userId` (a number) and `exp`, both
/// required.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Claims {
    pub user_id: UserId,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
}

/// Why a token was refused. The client only ever learns "invalid or expired".
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("invalid token: {0}")]
    Invalid(#[from] jsonwebtoken::errors::Error),
    #[error("token carries a non-positive userId")]
    BadUserId,
}

/// Signs and verifies tokens with the server's secret.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("JwtKeys").field("ttl", &self.ttl).finish()
    }
}

impl JwtKeys {
    pub fn new(secret: &[u8], ttl: Duration) -> JwtKeys {
        // Validation::new pins the accepted algorithms to HS256: `alg: none` and
        // algorithm-confusion tokens fail before any signature check.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = JWT_LEEWAY_SECS;
        validation.set_required_spec_claims(&["exp"]);
        validation.validate_exp = true;
        JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl,
        }
    }

    /// A token for `user`, valid for the configured TTL.
    pub fn issue(&self, user: UserId) -> Result<String, AppError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let claims = Claims {
            user_id: user,
            // Config caps the TTL at a year; saturate anyway rather than panic on login.
            exp: now.saturating_add(self.ttl).as_secs(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AppError::Internal(anyhow::Error::new(e).context("signing a token")))
    }

    /// The claims of a valid token: HS256 with our secret, not expired (give or take the
    /// leeway), with a positive numeric `userId`.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)?;
        if data.claims.user_id.0 <= 0 {
            return Err(TokenError::BadUserId);
        }
        Ok(data.claims)
    }
}

/// Argon2id password hashing, run off the async threads (a hash takes tens of
/// milliseconds of CPU, which would stall every connection on that worker).
#[derive(Clone, Debug)]
pub struct Passwords {
    argon2: Argon2<'static>,
    /// A hash of a random password, verified against when the username is unknown so
    /// that login takes as long for a missing user as for a wrong password.
    decoy: Arc<str>,
    /// At most one hash per core but one at a time, on threads of the lowest priority:
    /// each takes 19 MiB and a core's worth of CPU, so a sign-up or login flood would
    /// otherwise grow memory without bound and starve message delivery. The rest wait
    /// their turn, in [`Self::queue`].
    threads: HashingThreads,
    /// Hashes admitted (running or waiting for a permit). When it is full the next is
    /// refused at once with `rate_limited`: a queue without bound would only make every
    /// sign-in slower until clients time out.
    queue: Arc<Semaphore>,
}

/// How long a sign-in refused by a full hashing queue should wait.
pub const HASH_QUEUE_RETRY: Duration = Duration::from_secs(1);

impl Default for Passwords {
    /// OWASP's recommended Argon2id parameters (argon2's defaults: 19 MiB, t=2, p=1).
    fn default() -> Self {
        Passwords::with_params(Params::default())
    }
}

impl Passwords {
    pub fn with_params(params: Params) -> Passwords {
        let argon2 = Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let salt = SaltString::generate(&mut OsRng);
        let decoy = argon2
            .hash_password(salt.as_str().as_bytes(), &salt)
            .map(|h| h.to_string())
            .unwrap_or_default();
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let queue = crate::config::DEFAULT_PASSWORD_HASH_QUEUE as usize;
        Passwords {
            argon2,
            decoy: decoy.into(),
            // One core stays free for delivery.
            threads: HashingThreads::start(cores.saturating_sub(1)),
            queue: Arc::new(Semaphore::new(queue)),
        }
    }

    /// These passwords with a hashing queue of `size` (`PASSWORD_HASH_QUEUE`).
    pub fn with_queue(mut self, size: u32) -> Passwords {
        self.queue = Arc::new(Semaphore::new(size.max(1) as usize));
        self
    }

    /// A place in the hashing queue, or `rate_limited` when it is full. Hashing takes
    /// one itself; tests take them to fill the queue.
    pub fn admit(&self) -> Result<OwnedSemaphorePermit, AppError> {
        self.queue.clone().try_acquire_owned().map_err(|_| {
            metrics::counter!("chat_password_queue_full_total").increment(1);
            AppError::Throttled(
                "Too many sign-ins in progress",
                crate::rate_limit::RetryAfter::new(HASH_QUEUE_RETRY),
            )
        })
    }

    /// Cheap parameters for tests only: the hash is still Argon2id, just fast.
    pub fn for_tests() -> Passwords {
        Passwords::with_params(Params::new(1024, 1, 1, None).unwrap_or_default())
    }

    pub async fn hash(&self, password: String) -> Result<String, AppError> {
        let admitted = self.admit()?;
        let argon2 = self.argon2.clone();
        self.threads
            .run(move || {
                // The place in the queue is given back when the hash is done or dropped.
                let _admitted = admitted;
                let salt = SaltString::generate(&mut OsRng);
                argon2
                    .hash_password(password.as_bytes(), &salt)
                    .map(|h| h.to_string())
                    .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
            })
            .await
            .map_err(anyhow::Error::new)?
            .map_err(AppError::Internal)
    }

    /// Whether `password` matches `hash`; with `None`, checks against the decoy and
    /// answers false.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, AppError> {
        let argon2 = self.argon2.clone();
        let decoy = self.decoy.clone();
        let known = hash.is_some();
        let admitted = self.admit()?;
        let matched = self
            .threads
            .run(move || {
                let _admitted = admitted;
                let hash = hash.as_deref().unwrap_or(&decoy);
                match PasswordHash::new(hash) {
                    Ok(parsed) => argon2.verify_password(password.as_bytes(), &parsed).is_ok(),
                    Err(_) => false,
                }
            })
            .await
            .map_err(anyhow::Error::new)?;
        Ok(known && matched)
    }
}

/// The authenticated caller of a REST route: `Authorization: Bearer <JWT>`.
#[derive(Clone, Copy, Debug)]
pub struct AuthUser(pub UserId);

/// The one answer for any unusable token, so nothing is learnt from the difference.
pub const INVALID_TOKEN: &str = "Invalid or expired token";

impl<S> FromRequestParts<S> for AuthUser
where
    S: Send + Sync,
    Arc<JwtKeys>: axum::extract::FromRef<S>,
    Arc<AbuseLimits>: axum::extract::FromRef<S>,
{
    type Rejection = AppError;

    /// Also takes a token from the user's REST bucket (`REST_REQUESTS_PER_USER`).
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let keys: Arc<JwtKeys> = axum::extract::FromRef::from_ref(state);
        let limits: Arc<AbuseLimits> = axum::extract::FromRef::from_ref(state);
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or_else(|| AppError::Unauthorized("Authentication token required".to_owned()))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| AppError::Unauthorized(INVALID_TOKEN.to_owned()))?;
        match keys.verify(token) {
            Ok(claims) => {
                limits.rest_request(claims.user_id)?;
                Ok(AuthUser(claims.user_id))
            }
            Err(e) => {
                tracing::debug!(error = %e, "refused a token");
                Err(AppError::Unauthorized(INVALID_TOKEN.to_owned()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> JwtKeys {
        JwtKeys::new(b"0123456789abcdef0123456789abcdef", Duration::from_secs(60))
    }

    #[tokio::test]
    async fn hashing_waits_while_every_hashing_thread_is_busy() {
        let passwords = Passwords::for_tests();
        let (release, blocked) = std::sync::mpsc::channel::<()>();
        let blocked = std::sync::Arc::new(std::sync::Mutex::new(blocked));
        let mut busy = Vec::new();
        let mut started = Vec::new();
        for _ in 0..passwords.threads.count() {
            let (began, began_now) = tokio::sync::oneshot::channel::<()>();
            let (threads, blocked) = (passwords.threads.clone(), blocked.clone());
            busy.push(tokio::spawn(async move {
                threads
                    .run(move || {
                        let _ = began.send(());
                        let _ = blocked.lock().map(|b| b.recv());
                    })
                    .await
            }));
            started.push(began_now);
        }
        for began in started {
            began.await.expect("a hashing thread took a busy job");
        }
        let mut hashing = std::pin::pin!(passwords.hash("a long enough password".into()));
        assert!(futures_util::poll!(&mut hashing).is_pending());
        let mut verifying = std::pin::pin!(passwords.verify("x".into(), None));
        assert!(futures_util::poll!(&mut verifying).is_pending());
        for _ in &busy {
            release.send(()).expect("busy jobs wait");
        }
        assert!(hashing.await.is_ok());
        assert!(!verifying.await.unwrap());
    }

    #[tokio::test]
    async fn a_full_hashing_queue_refuses_at_once() {
        let passwords = Passwords::for_tests().with_queue(2);
        let held = [passwords.admit().unwrap(), passwords.admit().unwrap()];
        let refused = passwords.hash("a long enough password".into()).await;
        assert!(
            matches!(refused, Err(AppError::Throttled(_, retry)) if retry.millis() == 1000),
            "{refused:?}"
        );
        assert!(passwords.verify("x".into(), None).await.is_err());
        drop(held);
        assert!(
            passwords
                .hash("a long enough password".into())
                .await
                .is_ok()
        );
    }

    #[test]
    fn an_issued_token_verifies_to_its_user() {
        let keys = keys();
        let token = keys.issue(UserId(42)).unwrap();
        assert_eq!(keys.verify(&token).unwrap().user_id, UserId(42));
    }

    #[test]
    fn a_token_signed_with_another_secret_is_refused() {
        let other = JwtKeys::new(
            b"another secret of thirty-two bytes!",
            Duration::from_secs(60),
        );
        let token = other.issue(UserId(1)).unwrap();
        assert!(keys().verify(&token).is_err());
    }

    #[tokio::test]
    async fn passwords_verify_only_against_their_hash() {
        let passwords = Passwords::for_tests();
        let hash = passwords.hash("correct horse".to_owned()).await.unwrap();
        assert!(
            passwords
                .verify("correct horse".to_owned(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(
            !passwords
                .verify("wrong".to_owned(), Some(hash))
                .await
                .unwrap()
        );
        assert!(!passwords.verify("anything".to_owned(), None).await.unwrap());
    }
}
