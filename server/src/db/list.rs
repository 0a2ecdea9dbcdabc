//! The conversation list (`GET /api/conversations`, SPEC.md section 9): a page of the
//! caller's conversations, newest activity first, with what a chat list shows of each.
//!
//! Two queries per page whatever its size, neither reading more than the page's rows
//! and the caller's participant rows: the page itself (the caller's rows, their
//! conversations, each one's last message by primary key), then the participants of the
//! page's conversations with their usernames and watermarks. The write path keeps
//! `last_message_id` and `activity_at` current, so no query scans messages, and the unread
//! count is `last_seq - last_read_seq` ([`super::read_state`]).

use super::conversations::parse_kind;
use super::messages::audited;
use super::{Db, DbError, format_millis, with_pool};
use chat_wire::socket::{Conversation, ConversationSummary, Participant};
use chat_wire::{ConversationId, Message, MessageId, UserId};
use std::collections::HashMap;

/// Which page of the list to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListQuery {
    /// Only conversations older than this (epoch milliseconds of `activityAt`, and, at
    /// that same instant, an id below the given one): the last item of the previous page.
    pub before: Option<(i64, Option<ConversationId>)>,
    pub limit: u32,
}

#[derive(sqlx::FromRow)]
struct PageRow {
    id: i64,
    kind: String,
    title: Option<String>,
    last_seq: i64,
    activity_at_ms: i64,
    last_read_seq: i64,
    m_id: Option<i64>,
    m_seq: Option<i64>,
    m_sender_id: Option<i64>,
    m_text: Option<String>,
    m_client_message_id: Option<String>,
    m_created_at_ms: Option<i64>,
}

impl PageRow {
    fn last_message(&mut self) -> Option<Message> {
        Some(Message {
            id: MessageId(self.m_id?),
            conversation_id: ConversationId(self.id),
            seq: self.m_seq?,
            sender_id: UserId(self.m_sender_id?),
            text: self.m_text.take()?,
            client_message_id: self.m_client_message_id.take(),
            created_at: format_millis(self.m_created_at_ms?),
        })
    }
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    conversation_id: i64,
    user_id: i64,
    username: String,
    last_read_seq: i64,
}

impl Db {
    /// A page of `user`'s conversations (see the module doc).
    pub async fn conversation_list(
        &self,
        user: UserId,
        query: ListQuery,
    ) -> Result<Vec<ConversationSummary>, DbError> {
        let (before_ms, before_id) = match query.before {
            // Without an id, strictly older: no id is below 0.
            Some((ms, id)) => (Some(ms), id.map_or(0, |id| id.0)),
            None => (None, 0),
        };
        let (rows, members) = with_pool!(self, read, |pool, d| {
            let activity = d.epoch_ms.replace("{}", "c.activity_at");
            let created = d.epoch_ms.replace("{}", "m.created_at");
            let mut sql = format!(
                "SELECT c.id, c.kind, c.title, c.last_seq, {activity} AS activity_at_ms, \
                   me.last_read_seq, m.id AS m_id, m.seq AS m_seq, m.sender_id AS m_sender_id, \
                   m.text AS m_text, m.client_message_id AS m_client_message_id, \
                   {created} AS m_created_at_ms \
                 FROM participants me \
                 JOIN conversations c ON c.id = me.conversation_id \
                 LEFT JOIN messages m ON m.id = c.last_message_id \
                 WHERE me.user_id = $1"
            );
            if before_ms.is_some() {
                let at = d.from_epoch_ms.replace("{}", "$3");
                sql +=
                    &format!(" AND (c.activity_at < {at} OR (c.activity_at = {at} AND c.id < $4))");
            }
            sql += " ORDER BY c.activity_at DESC, c.id DESC LIMIT $2";
            let mut page = sqlx::query_as::<_, PageRow>(audited(sql))
                .bind(user.0)
                .bind(i64::from(query.limit));
            if let Some(ms) = before_ms {
                page = page.bind(ms).bind(before_id);
            }
            let rows = page.fetch_all(pool).await?;

            let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
            let members = if ids.is_empty() {
                Vec::new()
            } else {
                let ids = serde_json::Value::from(ids).to_string();
                sqlx::query_as::<_, MemberRow>(audited(format!(
                    "SELECT p.conversation_id, p.user_id, u.username, p.last_read_seq \
                     FROM participants p JOIN users u ON u.id = p.user_id \
                     WHERE p.conversation_id {} ORDER BY p.conversation_id, p.user_id",
                    d.in_json_ids.replace("{}", "$1")
                )))
                .bind(ids)
                .fetch_all(pool)
                .await?
            };
            (rows, members)
        });
        Ok(assemble(rows, members))
    }
}

fn assemble(rows: Vec<PageRow>, members: Vec<MemberRow>) -> Vec<ConversationSummary> {
    let mut by_conversation: HashMap<i64, Vec<MemberRow>> = HashMap::new();
    for member in members {
        by_conversation
            .entry(member.conversation_id)
            .or_default()
            .push(member);
    }
    rows.into_iter()
        .map(|mut row| {
            let members = by_conversation.remove(&row.id).unwrap_or_default();
            let last_message = row.last_message();
            // Clamped: a watermark is never above last_seq, but a negative count must
            // not reach a badge whatever the data says.
            let unread_count = (row.last_seq - row.last_read_seq).max(0);
            ConversationSummary {
                conversation: Conversation {
                    id: ConversationId(row.id),
                    kind: parse_kind(&row.kind),
                    title: row.title,
                    participant_ids: members.iter().map(|m| UserId(m.user_id)).collect(),
                    last_seq: row.last_seq,
                },
                read_seqs: members
                    .iter()
                    .map(|m| (UserId(m.user_id), m.last_read_seq))
                    .collect(),
                participants: members
                    .into_iter()
                    .map(|m| Participant {
                        id: UserId(m.user_id),
                        username: m.username,
                    })
                    .collect(),
                last_message,
                last_read_seq: row.last_read_seq,
                unread_count,
                activity_at: format_millis(row.activity_at_ms),
            }
        })
        .collect()
}
