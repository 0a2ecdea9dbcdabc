//! The handshake, the connect and disconnect handlers, and one handler per client event.
//!
//! Every client event may carry an ack callback, and every handler answers it: success,
//! or a [`SocketError`] as the failed ack `{ success: false, error, code }`. Arguments
//! arrive raw ([`Args`]) so that a wrong shape is a `bad_request` ack rather than a
//! skipped handler. Without an ack callback the answer is simply not sent
//! (`AckSender::send` is a no-op then).

use super::Shared;
use super::args::{self, Args};
use super::error::SocketError;
use super::limits::MAX_JOINED_PER_SOCKET;
use super::presence::{self, Transition};
use super::read_state::raise_and_announce;
use super::typing::emit_stop;
use crate::messaging::send_and_announce;
use chat_wire::event::{
    AUTH_INVALID_TOKEN, AUTH_TOKEN_REQUIRED, CONVERSATION_JOIN, CONVERSATION_LEAVE,
    CONVERSATION_READ, MESSAGE_READ, MESSAGE_SEND, TYPING_START, TYPING_STOP, USER_ONLINE,
    conversation_room, user_room,
};
use chat_wire::socket::{JoinAck, OkAck, ReadAck, ReadReceipt, SendAck, True, Typing};
use chat_wire::{ConversationId, UserId};
use serde::Serialize;
use serde_json::Value as Json;
use socketioxide as sio;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, Event, SocketRef, State, TryData};
use socketioxide::socket::{DisconnectReason, Sid};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

/// The furthest ahead a socket's expiry is scheduled (a longer-lived token is cut there).
const LONGEST_DEADLINE: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// What the server knows about an authenticated socket, kept in its extensions.
#[derive(Debug)]
pub struct Session {
    pub user: UserId,
    /// The token's `exp` (seconds since the epoch): the socket is closed then.
    pub exp: u64,
    /// `exp` on the runtime's clock: the socket's deadline in [`Shared::expiries`].
    deadline: Instant,
    /// Conversations this socket has joined (bounded by [`MAX_JOINED_PER_SOCKET`]).
    joined: Mutex<HashSet<ConversationId>>,
    /// Conversations this user was found to be in, so that typing, which comes in
    /// bursts, does not read the database every time. Participants are never removed.
    member_of: Mutex<HashSet<ConversationId>>,
    /// Set once the socket's presence, typing and timer have been cleaned up.
    ended: AtomicBool,
    /// Set when the socket overflowed its send buffer and is being closed.
    flooding: AtomicBool,
    /// One node: the presence change the handshake made, announced by the connect
    /// handler once the client has its CONNECT answer (the announcement reads the
    /// database, which the handshake should not wait for).
    pending: Mutex<Option<Transition>>,
}

fn locked<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned lock only means a panic elsewhere mid-update of a plain set.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Why a handshake was refused: the `message` of the CONNECT_ERROR.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    #[error("{AUTH_TOKEN_REQUIRED}")]
    TokenRequired,
    #[error("{AUTH_INVALID_TOKEN}")]
    InvalidToken,
    #[error("Too many connections for this user")]
    TooManySockets,
    #[error("Server is shutting down")]
    ShuttingDown,
    #[error("Too many connection attempts for this user; try again shortly")]
    TooManyHandshakes,
}

fn now_millis() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
}

/// The token of a handshake: the auth payload's `token`, else the `token` query
/// parameter. `Err` when a token is there but not a string.
fn handshake_token(auth: &Json, query: Option<&str>) -> Result<Option<String>, HandshakeError> {
    match auth.get("token") {
        Some(Json::String(t)) if !t.is_empty() => return Ok(Some(t.clone())),
        Some(Json::String(_)) | Some(Json::Null) | None => {}
        Some(_) => return Err(HandshakeError::InvalidToken),
    }
    let from_query = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|pair| pair.strip_prefix("token="))
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    Ok(from_query)
}

/// Handshake middleware: authenticates the socket (SPEC.md section 2), enforces the
/// per-user socket cap and counts the socket in presence (announcing the user if it is
/// their first socket). An error becomes the CONNECT_ERROR's `data.message`.
pub async fn authenticate<A: Adapter>(
    s: SocketRef<A>,
    TryData(auth): TryData<Json>,
    State(shared): State<Arc<Shared>>,
) -> Result<(), HandshakeError> {
    if shared.is_closing() {
        return Err(HandshakeError::ShuttingDown);
    }
    // A CONNECT payload that is not JSON at all is treated as carrying no auth.
    let auth = auth.unwrap_or(Json::Null);
    let token =
        handshake_token(&auth, s.req_parts().uri.query())?.ok_or(HandshakeError::TokenRequired)?;
    let claims = shared.jwt.verify(&token).map_err(|e| {
        tracing::debug!(error = %e, "refused a socket token");
        HandshakeError::InvalidToken
    })?;
    // The REST leeway tolerates clock skew on requests; a socket would be closed at
    // `exp` anyway, so one past it is refused now.
    if u128::from(claims.exp) * 1000 <= now_millis() {
        return Err(HandshakeError::InvalidToken);
    }
    // After the token check, so that nobody can use up another user's handshakes.
    shared
        .handshake_limiter
        .check(claims.user_id)
        .map_err(|_| HandshakeError::TooManyHandshakes)?;
    shared.unauthenticated.signed_in();
    let until_expiry = Duration::from_millis(
        u64::try_from((u128::from(claims.exp) * 1000).saturating_sub(now_millis()))
            .unwrap_or(u64::MAX),
    );
    s.extensions.insert(Arc::new(Session {
        user: claims.user_id,
        exp: claims.exp,
        // Capped: a token may say any `exp`, an `Instant` cannot hold any.
        deadline: Instant::now() + until_expiry.min(LONGEST_DEADLINE),
        joined: Mutex::new(HashSet::new()),
        member_of: Mutex::new(HashSet::new()),
        ended: AtomicBool::new(false),
        flooding: AtomicBool::new(false),
        pending: Mutex::new(None),
    }));
    // Handlers are registered here, before the CONNECT answer goes out: the connect
    // handler runs in a task spawned after it, and an event the client sends at once
    // would otherwise find no handler and be dropped without an ack. (A refused socket
    // is dropped with its handlers and rooms.)
    s.on_disconnect(on_disconnect::<A>);
    s.on_fallback(on_event::<A>);
    s.join(user_room(claims.user_id));
    // Counted before the CONNECT answer, so that once a client is told it is connected,
    // every node counts it (presence, socket cap). The cap check and the count are one
    // atomic step, so two handshakes of one user cannot both take the last place.
    let pending = presence::socket_connected(&shared, claims.user_id, s.id)
        .await
        .map_err(|presence::TooMany| HandshakeError::TooManySockets)?;
    if let Some(session) = session_of(&s) {
        *locked(&session.pending) = pending;
    }
    crate::telemetry::socket_opened();
    Ok(())
}

fn session_of<A: Adapter>(s: &SocketRef<A>) -> Option<Arc<Session>> {
    s.extensions.get::<Arc<Session>>()
}

/// A socket passed the handshake (which registered its handlers, joined it to
/// `user:{id}` and counted it in presence): arm the token's deadline.
pub async fn on_connect<A: Adapter>(s: SocketRef<A>, State(shared): State<Arc<Shared>>) {
    let Some(session) = session_of(&s) else {
        tracing::error!(sid = %s.id, "connected socket without a session: disconnecting");
        disconnect(s);
        return;
    };
    let user = session.user;
    let sid = s.id;
    shared.expiries.arm(session.deadline, sid, user);

    if !s.connected() {
        // Closed before on_disconnect could run: clean up here instead (once).
        end_session(&shared, sid, &session).await;
        return;
    }
    let pending = locked(&session.pending).take();
    if let Some(transition) = pending {
        presence::announce_local(&shared, user, transition).await;
    }
}

fn disconnect<A: Adapter>(s: SocketRef<A>) {
    let sid = s.id;
    if let Err(e) = s.disconnect() {
        tracing::debug!(%sid, error = %e, "disconnecting a socket that is already closed");
    }
}

async fn on_disconnect<A: Adapter>(
    s: SocketRef<A>,
    State(shared): State<Arc<Shared>>,
    reason: DisconnectReason,
) {
    tracing::debug!(sid = %s.id, ?reason, "socket disconnected");
    if let Some(session) = session_of(&s) {
        end_session(&shared, s.id, &session).await;
    }
}

/// Undoes a socket's presence, typing and expiry deadline, once.
async fn end_session(shared: &Arc<Shared>, sid: Sid, session: &Session) {
    if session.ended.swap(true, Ordering::SeqCst) {
        return;
    }
    crate::telemetry::socket_closed();
    shared.expiries.disarm(session.deadline, sid);
    let user = session.user;
    for conversation in shared.typing.socket_gone(user, sid) {
        if let Some(io) = shared.io() {
            emit_stop(io, conversation, user).await;
        }
    }
    presence::socket_gone(shared, user, sid).await;
}

/// Sends an ack (if the client asked for one), a failure as [`SocketError::into_ack`]
/// maps it, logging a failure to send it.
///
/// A full send buffer (socketioxide keeps 128 packets per socket) means the client sends
/// faster than it reads its answers: it is closed rather than left with unanswered acks.
fn answer<A: Adapter, T: Serialize>(
    s: &SocketRef<A>,
    ack: AckSender<A>,
    event: &'static str,
    result: Result<T, SocketError>,
) {
    let sent = match result {
        Ok(success) => ack.send(&success),
        Err(error) => {
            let user = session_of(s).map(|session| session.user);
            ack.send(&error.into_ack(event, s.id, user))
        }
    };
    match sent {
        Ok(()) => {}
        Err(sio::SendError::Socket(sio::SocketError::InternalChannelFull)) => {
            close_flooder(s, event);
        }
        Err(e) => tracing::warn!(event, sid = %s.id, error = %e, "could not send an ack"),
    }
}

/// Disconnects a socket whose send buffer is full. The DISCONNECT packet needs a free
/// slot in that same buffer, so this retries briefly while the transport drains it; a
/// client that reads nothing at all is dropped by the Engine.IO heartbeat instead.
fn close_flooder<A: Adapter>(s: &SocketRef<A>, event: &'static str) {
    let Some(session) = session_of(s) else {
        return;
    };
    if session.flooding.swap(true, Ordering::SeqCst) {
        return;
    }
    tracing::warn!(event, sid = %s.id, user = %session.user, "send buffer full: closing a flooding socket");
    let socket = s.clone();
    tokio::spawn(async move {
        for _ in 0..FLOOD_CLOSE_ATTEMPTS {
            match socket.clone().disconnect() {
                Err(sio::SocketError::InternalChannelFull) => {
                    tokio::time::sleep(FLOOD_CLOSE_RETRY).await;
                }
                Ok(()) | Err(sio::SocketError::Closed) => return,
            }
        }
        tracing::warn!(sid = %socket.id, "flooding socket never drained; the heartbeat will drop it");
    });
}

/// How often, and how many times, [`close_flooder`] tries to send the DISCONNECT.
const FLOOD_CLOSE_RETRY: Duration = Duration::from_millis(20);
const FLOOD_CLOSE_ATTEMPTS: u32 = 250;

/// Whether `user` is in `conversation`, answered from the session's cache when it can.
async fn is_member(
    shared: &Shared,
    session: &Session,
    conversation: ConversationId,
) -> Result<bool, SocketError> {
    if locked(&session.member_of).contains(&conversation) {
        return Ok(true);
    }
    match shared.db.is_participant(conversation, session.user).await {
        Ok(true) => {
            let mut cache = locked(&session.member_of);
            // Bounded like the joined rooms; past it, the database answers.
            if cache.len() < MAX_JOINED_PER_SOCKET {
                cache.insert(conversation);
            }
            Ok(true)
        }
        Ok(false) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// `conversation:join(conversationId)`: joins the room and answers with the online
/// participants and the conversation's last seq.
async fn join<A: Adapter>(
    s: SocketRef<A>,
    Args(args): Args,
    ack: AckSender<A>,
    State(shared): State<Arc<Shared>>,
) {
    let result = join_inner(&s, args, &shared).await;
    answer(&s, ack, CONVERSATION_JOIN, result);
}

async fn join_inner<A: Adapter>(
    s: &SocketRef<A>,
    args: Result<Vec<Json>, SocketError>,
    shared: &Shared,
) -> Result<JoinAck, SocketError> {
    let session = session_of(s).ok_or(SocketError::NoSession)?;
    let conversation = args::conversation_id(&args?)?;
    let user = session.user;
    shared
        .join_limiter
        .check(user)
        .map_err(SocketError::RateLimited)?;
    let already = locked(&session.joined).contains(&conversation);
    if !already && locked(&session.joined).len() >= MAX_JOINED_PER_SOCKET {
        return Err(SocketError::bad_request(format!(
            "a socket may join at most {MAX_JOINED_PER_SOCKET} conversations; leave one first"
        )));
    }
    // Participation first: a non-participant must never be in the room, not even briefly.
    if !shared.db.is_participant(conversation, user).await? {
        return Err(SocketError::NotParticipant);
    }
    let room = conversation_room(conversation);
    s.join(room.clone());
    // Then lastSeq and the watermarks, read only once the socket is in the room: a
    // message committed before this read is counted in it (the client backfills it), and
    // one committed after is broadcast to the room, this socket included. Read before
    // joining, a message committed in between would be in neither, and the client would
    // miss it until the next one.
    let state = match shared.db.join_state(conversation).await {
        Ok(Some(state)) if state.read_seqs.get(user).is_some() => state,
        Ok(_) => {
            // Removed from the conversation meanwhile (not possible through the API today).
            s.leave(room);
            return Err(SocketError::NotParticipant);
        }
        Err(e) => {
            s.leave(room);
            return Err(e.into());
        }
    };
    let participants = state.participants();
    let newly = locked(&session.joined).insert(conversation);
    locked(&session.member_of).insert(conversation);
    if newly && let Some(io) = shared.io() {
        io.emit(vec![room], Some(user_room(user)), USER_ONLINE, &user)
            .await;
    }
    // The caller is online by definition, even if this event overtook the connect
    // handler's presence bookkeeping.
    let mut online = presence::online_among(shared, &participants).await;
    if !online.contains(&user) {
        online.push(user);
        online.sort();
    }
    Ok(JoinAck {
        success: True,
        online_user_ids: online,
        last_seq: state.last_seq,
        last_read_seq: state.read_seqs.get(user).unwrap_or(0),
        read_seqs: state.read_seqs,
    })
}

/// `conversation:leave(conversationId)`: leaves the room (idempotent); ends this
/// socket's typing there.
async fn leave<A: Adapter>(
    s: SocketRef<A>,
    Args(args): Args,
    ack: AckSender<A>,
    State(shared): State<Arc<Shared>>,
) {
    let result = leave_inner(&s, args, &shared).await;
    answer(&s, ack, CONVERSATION_LEAVE, result);
}

async fn leave_inner<A: Adapter>(
    s: &SocketRef<A>,
    args: Result<Vec<Json>, SocketError>,
    shared: &Shared,
) -> Result<OkAck, SocketError> {
    let session = session_of(s).ok_or(SocketError::NoSession)?;
    let conversation = args::conversation_id(&args?)?;
    let user = session.user;
    shared
        .join_limiter
        .check(user)
        .map_err(SocketError::RateLimited)?;
    let was_joined = locked(&session.joined).remove(&conversation);
    if was_joined {
        s.leave(conversation_room(conversation));
        if shared.typing.stopped_by(conversation, user, s.id)
            && let Some(io) = shared.io()
        {
            emit_stop(io, conversation, user).await;
        }
    }
    Ok(OkAck::default())
}

/// `message:send(conversationId, { clientMessageId, text })`: validates, rate-limits
/// and stores (idempotently); a new message is broadcast to the room before the ack.
async fn send<A: Adapter>(
    s: SocketRef<A>,
    Args(args): Args,
    ack: AckSender<A>,
    State(shared): State<Arc<Shared>>,
) {
    // Held until the ack is sent: shutdown waits for it.
    let Some(_in_flight) = shared.begin_send() else {
        answer::<A, SendAck>(&s, ack, MESSAGE_SEND, Err(SocketError::ShuttingDown));
        return;
    };
    let result = send_inner(&s, args, &shared).await;
    answer(&s, ack, MESSAGE_SEND, result);
}

async fn send_inner<A: Adapter>(
    s: &SocketRef<A>,
    args: Result<Vec<Json>, SocketError>,
    shared: &Arc<Shared>,
) -> Result<SendAck, SocketError> {
    let session = session_of(s).ok_or(SocketError::NoSession)?;
    let (conversation, body) = args::send_args(&args?)?;
    let user = session.user;
    let sent = send_and_announce(shared, user, conversation, body).await?;
    Ok(SendAck {
        success: True,
        message_id: sent.message.id,
        seq: sent.message.seq,
        created_at: sent.message.created_at,
    })
}

/// `typing:start(conversationId)`: relayed to the room (the typist's sockets excluded);
/// expires after 5 s without another.
async fn typing_start<A: Adapter>(
    s: SocketRef<A>,
    Args(args): Args,
    ack: AckSender<A>,
    State(shared): State<Arc<Shared>>,
) {
    let result = typing_inner(&s, args, &shared, true).await;
    answer(&s, ack, TYPING_START, result);
}

/// `typing:stop(conversationId)`: relayed to the room (the typist's sockets excluded).
async fn typing_stop<A: Adapter>(
    s: SocketRef<A>,
    Args(args): Args,
    ack: AckSender<A>,
    State(shared): State<Arc<Shared>>,
) {
    let result = typing_inner(&s, args, &shared, false).await;
    answer(&s, ack, TYPING_STOP, result);
}

async fn typing_inner<A: Adapter>(
    s: &SocketRef<A>,
    args: Result<Vec<Json>, SocketError>,
    shared: &Shared,
    start: bool,
) -> Result<OkAck, SocketError> {
    let session = session_of(s).ok_or(SocketError::NoSession)?;
    let conversation = args::conversation_id(&args?)?;
    let user = session.user;
    shared
        .typing_limiter
        .check(user)
        .map_err(SocketError::RateLimited)?;
    if !is_member(shared, &session, conversation).await? {
        return Err(SocketError::NotParticipant);
    }
    let Some(io) = shared.io() else {
        return Ok(OkAck::default());
    };
    if start {
        shared.typing.started(io, conversation, user, s.id);
        let payload = Typing {
            conversation_id: conversation,
            user_id: user,
        };
        let room = vec![conversation_room(conversation)];
        io.emit(room, Some(user_room(user)), TYPING_START, &payload)
            .await;
    } else {
        shared.typing.stopped(conversation, user);
        emit_stop(io, conversation, user).await;
    }
    Ok(OkAck::default())
}

/// `message:read(messageId)`: stores the receipt once and tells the sender's sockets
/// once, and moves the reader's watermark up to the message's seq (announced as
/// `conversation:read` when it moves). Reading one's own message, or one in a
/// conversation one is not in, is refused.
async fn read<A: Adapter>(
    s: SocketRef<A>,
    Args(args): Args,
    ack: AckSender<A>,
    State(shared): State<Arc<Shared>>,
) {
    let result = read_inner(&s, args, &shared).await;
    answer(&s, ack, MESSAGE_READ, result);
}

async fn read_inner<A: Adapter>(
    s: &SocketRef<A>,
    args: Result<Vec<Json>, SocketError>,
    shared: &Shared,
) -> Result<OkAck, SocketError> {
    let session = session_of(s).ok_or(SocketError::NoSession)?;
    let message = args::message_id(&args?)?;
    let user = session.user;
    shared
        .read_limiter
        .check(user)
        .map_err(SocketError::RateLimited)?;
    match shared.db.visible_message(message, user).await? {
        Some((_, sender, _)) if sender == user => {
            return Err(SocketError::bad_request(
                "you cannot mark your own message as read",
            ));
        }
        Some(_) => {}
        None => return Err(SocketError::MessageNotVisible),
    }
    let outcome = shared
        .db
        .mark_read(message, user)
        .await?
        .ok_or(SocketError::MessageNotVisible)?;
    if outcome.newly_read {
        let receipt = ReadReceipt {
            message_id: message,
            conversation_id: outcome.conversation_id,
            read_by: user,
            read_at: outcome.read_at,
        };
        if let Some(io) = shared.io() {
            let room = vec![user_room(outcome.sender_id)];
            io.emit(room, None, MESSAGE_READ, &receipt).await;
        }
    }
    raise_and_announce(shared, outcome.conversation_id, user, outcome.seq).await?;
    Ok(OkAck::default())
}

/// `conversation:read(conversationId, seq)`: "I have seen everything up to `seq`". The
/// watermark becomes `max(current, min(seq, lastSeq))` and the ack carries it; a move is
/// announced as `conversation:read` ([`super::read_state`]). Shares `message:read`'s
/// rate limit: both are a write each.
async fn conversation_read<A: Adapter>(
    s: SocketRef<A>,
    Args(args): Args,
    ack: AckSender<A>,
    State(shared): State<Arc<Shared>>,
) {
    let result = conversation_read_inner(&s, args, &shared).await;
    answer(&s, ack, CONVERSATION_READ, result);
}

async fn conversation_read_inner<A: Adapter>(
    s: &SocketRef<A>,
    args: Result<Vec<Json>, SocketError>,
    shared: &Shared,
) -> Result<ReadAck, SocketError> {
    let session = session_of(s).ok_or(SocketError::NoSession)?;
    let (conversation, seq) = args::read_args(&args?)?;
    let user = session.user;
    shared
        .read_limiter
        .check(user)
        .map_err(SocketError::RateLimited)?;
    let read = raise_and_announce(shared, conversation, user, seq).await?;
    Ok(ReadAck {
        success: True,
        last_read_seq: read.last_read_seq,
    })
}

/// Every client event, dispatched by its name. One fallback handler instead of one
/// `SocketRef::on` per event: those fill a map of handlers in every socket, about 350
/// bytes per idle socket (docs/BENCHMARKS.md).
async fn on_event<A: Adapter>(
    s: SocketRef<A>,
    Event(event): Event,
    args: Args,
    ack: AckSender<A>,
    state: State<Arc<Shared>>,
) {
    match event.as_str() {
        CONVERSATION_JOIN => join(s, args, ack, state).await,
        CONVERSATION_LEAVE => leave(s, args, ack, state).await,
        MESSAGE_SEND => send(s, args, ack, state).await,
        TYPING_START => typing_start(s, args, ack, state).await,
        TYPING_STOP => typing_stop(s, args, ack, state).await,
        MESSAGE_READ => read(s, args, ack, state).await,
        CONVERSATION_READ => conversation_read(s, args, ack, state).await,
        _ => unknown_event(s, &event, ack),
    }
}

/// Any other event: logged, and answered `bad_request` if it asked for an ack.
fn unknown_event<A: Adapter>(s: SocketRef<A>, event: &str, ack: AckSender<A>) {
    tracing::debug!(sid = %s.id, event = %event.chars().take(64).collect::<String>(), "unknown event");
    answer::<A, OkAck>(
        &s,
        ack,
        "unknown",
        Err(SocketError::bad_request("unknown event")),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_token_comes_from_auth_then_query() {
        let token = |auth: Json, query: Option<&str>| handshake_token(&auth, query);
        assert_eq!(
            token(json!({"token": "a"}), Some("token=b")).unwrap(),
            Some("a".to_owned())
        );
        assert_eq!(
            token(json!({}), Some("EIO=4&token=b&transport=websocket")).unwrap(),
            Some("b".to_owned())
        );
        assert_eq!(token(json!({}), Some("EIO=4")).unwrap(), None);
        assert_eq!(token(json!({"token": ""}), None).unwrap(), None);
        assert_eq!(token(Json::Null, None).unwrap(), None);
        assert!(matches!(
            token(json!({"token": 5}), None),
            Err(HandshakeError::InvalidToken)
        ));
    }

    #[test]
    fn handshake_errors_are_the_spec_messages() {
        assert_eq!(
            HandshakeError::TokenRequired.to_string(),
            "Authentication token required"
        );
        assert_eq!(
            HandshakeError::InvalidToken.to_string(),
            "Invalid or expired token"
        );
    }
}
