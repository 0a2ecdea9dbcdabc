//! Read watermarks (SPEC.md section 9): `participants.last_read_seq`, "this participant
//! has seen the conversation up to this seq".
//!
//! A watermark only moves up. Every write is `SET last_read_seq = x WHERE last_read_seq
//! < x`: on PostgreSQL two concurrent writers of one row queue on its lock and the second
//! re-checks the condition against the first's result; SQLite has one writer. Besides
//! [`Db::raise_read_seq`], the write path moves a sender's watermark to the seq of each
//! message it stores ([`super::write`]), so every message above a watermark is someone
//! else's and the unread count is `last_seq - last_read_seq`.

use super::{Db, DbError, with_pool};
use chat_wire::socket::ReadSeqs;
use chat_wire::{ConversationId, UserId};

/// What [`Db::raise_read_seq`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadMove {
    /// The watermark now (the current one when it did not move).
    pub last_read_seq: i64,
    /// Whether this call moved it (announce only then).
    pub moved: bool,
}

/// What a join ack tells about a conversation, read in one query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JoinState {
    pub last_seq: i64,
    /// Every participant's watermark, ascending by user.
    pub read_seqs: ReadSeqs,
}

impl JoinState {
    pub fn participants(&self) -> Vec<UserId> {
        self.read_seqs.iter().map(|(user, _)| user).collect()
    }
}

impl Db {
    /// Moves `user`'s watermark in `conversation` to `min(seq, last_seq)` if that is
    /// higher. `None` when `user` is not a participant or there is no such conversation
    /// (not told apart).
    pub async fn raise_read_seq(
        &self,
        conversation: ConversationId,
        user: UserId,
        seq: i64,
    ) -> Result<Option<ReadMove>, DbError> {
        // Through the writer on SQLite for both statements: the read after a no-op must
        // see the latest write, which a reader connection might not yet.
        with_pool!(self, write, |pool, _d| {
            let moved: Option<(i64,)> = sqlx::query_as(
                "UPDATE participants SET last_read_seq = t.target \
                 FROM (SELECT CASE WHEN CAST($3 AS BIGINT) < last_seq \
                              THEN CAST($3 AS BIGINT) ELSE last_seq END AS target \
                       FROM conversations WHERE id = $1) AS t \
                 WHERE conversation_id = $1 AND user_id = $2 AND last_read_seq < t.target \
                 RETURNING last_read_seq",
            )
            .bind(conversation.0)
            .bind(user.0)
            .bind(seq)
            .fetch_optional(pool)
            .await?;
            if let Some((last_read_seq,)) = moved {
                return Ok(Some(ReadMove {
                    last_read_seq,
                    moved: true,
                }));
            }
            let current: Option<(i64,)> = sqlx::query_as(
                "SELECT last_read_seq FROM participants WHERE conversation_id = $1 AND user_id = $2",
            )
            .bind(conversation.0)
            .bind(user.0)
            .fetch_optional(pool)
            .await?;
            Ok(current.map(|(last_read_seq,)| ReadMove {
                last_read_seq,
                moved: false,
            }))
        })
    }

    /// The conversation's last seq and every participant's watermark; `None` for no
    /// such conversation. The caller has checked participation.
    pub async fn join_state(
        &self,
        conversation: ConversationId,
    ) -> Result<Option<JoinState>, DbError> {
        let rows: Vec<(i64, i64, i64)> = with_pool!(self, read, |pool, _d| {
            sqlx::query_as(
                "SELECT c.last_seq, p.user_id, p.last_read_seq FROM conversations c \
                 JOIN participants p ON p.conversation_id = c.id \
                 WHERE c.id = $1 ORDER BY p.user_id",
            )
            .bind(conversation.0)
            .fetch_all(pool)
            .await?
        });
        let last_seq = rows.first().map(|&(last_seq, _, _)| last_seq);
        Ok(last_seq.map(|last_seq| JoinState {
            last_seq,
            read_seqs: rows
                .into_iter()
                .map(|(_, user, seq)| (UserId(user), seq))
                .collect(),
        }))
    }
}
