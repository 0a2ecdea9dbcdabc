//! Conversations and their participants.

use super::{Db, DbError, with_pool};
use chat_wire::socket::{Conversation, ConversationKind};
use chat_wire::{ConversationId, UserId};
use std::collections::BTreeMap;

/// The result of [`Db::create_conversation`].
#[derive(Debug)]
pub struct CreatedConversation {
    pub conversation: Conversation,
    /// False when an existing direct conversation was returned.
    pub created: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateConversationError {
    #[error("unknown user {0} in participantIds")]
    UnknownUser(UserId),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for CreateConversationError {
    fn from(e: sqlx::Error) -> Self {
        CreateConversationError::Db(e.into())
    }
}

#[derive(sqlx::FromRow)]
struct ConversationRow {
    id: i64,
    kind: String,
    title: Option<String>,
    last_seq: i64,
}

#[derive(sqlx::FromRow)]
struct ParticipantRow {
    conversation_id: i64,
    user_id: i64,
}

/// The `kind` column as the wire's enum (the table's CHECK allows only these two).
pub(super) fn parse_kind(kind: &str) -> ConversationKind {
    if kind == "direct" {
        ConversationKind::Direct
    } else {
        ConversationKind::Group
    }
}

fn assemble(rows: Vec<ConversationRow>, participants: Vec<ParticipantRow>) -> Vec<Conversation> {
    let mut by_conversation: BTreeMap<i64, Vec<UserId>> = BTreeMap::new();
    for p in participants {
        by_conversation
            .entry(p.conversation_id)
            .or_default()
            .push(UserId(p.user_id));
    }
    rows.into_iter()
        .map(|row| Conversation {
            id: ConversationId(row.id),
            kind: parse_kind(&row.kind),
            title: row.title,
            participant_ids: by_conversation.remove(&row.id).unwrap_or_default(),
            last_seq: row.last_seq,
        })
        .collect()
}

/// The result of [`Db::leave_conversation`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaveOutcome {
    Left,
    /// A direct conversation: it has no members to leave without ending it.
    Direct,
    /// Not a participant, or no such conversation (never told apart).
    NotParticipant,
}

/// The key that makes a direct conversation unique per pair, whatever the order.
fn direct_key(a: UserId, b: UserId) -> String {
    format!("{}:{}", a.0.min(b.0), a.0.max(b.0))
}

impl Db {
    /// Creates a conversation of `creator` and `others` (deduplicated, the creator
    /// removed by the caller or not). Two people and no title is a direct conversation,
    /// and an existing one for the pair is returned instead (`created: false`).
    /// All or nothing: an unknown user leaves no row behind.
    pub async fn create_conversation(
        &self,
        creator: UserId,
        others: &[UserId],
        title: Option<&str>,
    ) -> Result<CreatedConversation, CreateConversationError> {
        let mut members: Vec<UserId> = others.to_vec();
        members.push(creator);
        members.sort_unstable();
        members.dedup();
        let direct = match (members.as_slice(), title) {
            ([a, b], None) => Some(direct_key(*a, *b)),
            _ => None,
        };
        let kind = if direct.is_some() { "direct" } else { "group" };

        let outcome: Result<Option<i64>, CreateConversationError> =
            with_pool!(self, write, |pool, _d| {
                async {
                    let mut tx = pool.begin().await?;
                    let inserted: Option<(i64,)> = sqlx::query_as(
                        "INSERT INTO conversations (kind, title, direct_key) VALUES ($1, $2, $3) \
                         ON CONFLICT (direct_key) DO NOTHING RETURNING id",
                    )
                    .bind(kind)
                    .bind(title)
                    .bind(direct.as_deref())
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some((id,)) = inserted else {
                        // The pair already has its direct conversation (perhaps created a
                        // moment ago by a concurrent request: the unique key waited for it).
                        tx.rollback().await?;
                        return Ok(None);
                    };
                    // A new conversation's activity is its creation, to the millisecond
                    // (the column's own default would read the clock again).
                    sqlx::query("UPDATE conversations SET activity_at = created_at WHERE id = $1")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    for member in &members {
                        // Inserting through a SELECT on users both checks the user exists
                        // and adds it, in one statement.
                        let done = sqlx::query(
                            "INSERT INTO participants (conversation_id, user_id) \
                             SELECT $1, id FROM users WHERE id = $2",
                        )
                        .bind(id)
                        .bind(member.0)
                        .execute(&mut *tx)
                        .await?;
                        if done.rows_affected() != 1 {
                            tx.rollback().await?;
                            return Err(CreateConversationError::UnknownUser(*member));
                        }
                    }
                    tx.commit().await?;
                    Ok(Some(id))
                }
                .await
            });

        let (id, created) = match outcome? {
            Some(id) => (id, true),
            None => {
                let key = direct.unwrap_or_default();
                let existing: Option<(i64,)> = with_pool!(self, write, |pool, _d| {
                    sqlx::query_as("SELECT id FROM conversations WHERE direct_key = $1")
                        .bind(&key)
                        .fetch_optional(pool)
                        .await?
                });
                let Some((id,)) = existing else {
                    return Err(DbError::Sqlx(sqlx::Error::RowNotFound).into());
                };
                (id, false)
            }
        };
        // Read through the writer: on SQLite a reader could lag by nothing, but the writer
        // is certain to see its own commit.
        let conversation = self
            .conversation_by_id(ConversationId(id), true)
            .await?
            .ok_or(DbError::Sqlx(sqlx::Error::RowNotFound))?;
        Ok(CreatedConversation {
            conversation,
            created,
        })
    }

    /// One conversation with its participants. `via_writer` reads through SQLite's
    /// writer, which is certain to see what it has just committed.
    async fn conversation_by_id(
        &self,
        id: ConversationId,
        via_writer: bool,
    ) -> Result<Option<Conversation>, DbError> {
        const CONVERSATION: &str =
            "SELECT id, kind, title, last_seq FROM conversations WHERE id = $1";
        const PARTICIPANTS: &str = "SELECT conversation_id, user_id FROM participants \
             WHERE conversation_id = $1 ORDER BY user_id";
        macro_rules! fetch {
            ($pool:expr) => {{
                let row = sqlx::query_as::<_, ConversationRow>(CONVERSATION)
                    .bind(id.0)
                    .fetch_optional($pool)
                    .await?;
                let participants = sqlx::query_as::<_, ParticipantRow>(PARTICIPANTS)
                    .bind(id.0)
                    .fetch_all($pool)
                    .await?;
                (row, participants)
            }};
        }
        let (row, participants) = if via_writer {
            with_pool!(self, write, |pool, _d| fetch!(pool))
        } else {
            with_pool!(self, read, |pool, _d| fetch!(pool))
        };
        Ok(row.and_then(|row| assemble(vec![row], participants).pop()))
    }

    /// The conversation if `user` is a participant; `None` when it is not or when the
    /// conversation does not exist (the two are never told apart).
    pub async fn conversation_for(
        &self,
        id: ConversationId,
        user: UserId,
    ) -> Result<Option<Conversation>, DbError> {
        let conversation = self.conversation_by_id(id, false).await?;
        Ok(conversation.filter(|c| c.participant_ids.contains(&user)))
    }

    /// Whether `user` is a participant of `conversation` (false for no such conversation).
    pub async fn is_participant(
        &self,
        conversation: ConversationId,
        user: UserId,
    ) -> Result<bool, DbError> {
        let found: Option<(i64,)> = with_pool!(self, read, |pool, _d| {
            sqlx::query_as(
                "SELECT user_id FROM participants WHERE conversation_id = $1 AND user_id = $2",
            )
            .bind(conversation.0)
            .bind(user.0)
            .fetch_optional(pool)
            .await?
        });
        Ok(found.is_some())
    }

    /// The participants of `conversation`, ascending (empty for no such conversation).
    pub async fn participant_ids(
        &self,
        conversation: ConversationId,
    ) -> Result<Vec<UserId>, DbError> {
        let rows: Vec<(i64,)> = with_pool!(self, read, |pool, _d| {
            sqlx::query_as(
                "SELECT user_id FROM participants WHERE conversation_id = $1 ORDER BY user_id",
            )
            .bind(conversation.0)
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(|(id,)| UserId(id)).collect())
    }

    /// The ids of the conversations `user` is in (presence fan-out, joining rooms).
    pub async fn conversation_ids_of(&self, user: UserId) -> Result<Vec<ConversationId>, DbError> {
        let rows: Vec<(i64,)> = with_pool!(self, read, |pool, _d| {
            sqlx::query_as(
                "SELECT conversation_id FROM participants WHERE user_id = $1 ORDER BY conversation_id",
            )
            .bind(user.0)
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(|(id,)| ConversationId(id)).collect())
    }

    /// The conversation's highest seq if `user` is a participant (the join ack).
    pub async fn last_seq_for(
        &self,
        conversation: ConversationId,
        user: UserId,
    ) -> Result<Option<i64>, DbError> {
        let row: Option<(i64,)> = with_pool!(self, read, |pool, _d| {
            sqlx::query_as(
                "SELECT c.last_seq FROM conversations c \
                 JOIN participants p ON p.conversation_id = c.id AND p.user_id = $2 \
                 WHERE c.id = $1",
            )
            .bind(conversation.0)
            .bind(user.0)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(|(seq,)| seq))
    }

    /// Removes `user` from the group `conversation`. Their messages stay, as sent.
    pub async fn leave_conversation(
        &self,
        conversation: ConversationId,
        user: UserId,
    ) -> Result<LeaveOutcome, DbError> {
        let removed = with_pool!(self, write, |pool, _d| {
            sqlx::query(
                "DELETE FROM participants WHERE conversation_id = $1 AND user_id = $2 \
                 AND EXISTS (SELECT 1 FROM conversations WHERE id = $1 AND kind = 'group')",
            )
            .bind(conversation.0)
            .bind(user.0)
            .execute(pool)
            .await?
            .rows_affected()
        });
        if removed > 0 {
            return Ok(LeaveOutcome::Left);
        }
        // Nothing removed: a direct conversation of the user's, or none of theirs.
        Ok(if self.is_participant(conversation, user).await? {
            LeaveOutcome::Direct
        } else {
            LeaveOutcome::NotParticipant
        })
    }
}
