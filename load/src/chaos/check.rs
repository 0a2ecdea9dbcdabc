//! The checks after healing, each returning readable problems (who lost, doubled or
//! misordered what) instead of counts.
//!
//! The reference is the database as the REST history returns it: every acknowledged
//! message must be there once, at the seq its ack named, with the text and sender its
//! client sent, seqs gapless; and every participant's timeline must equal it, text and
//! sender included.

use crate::fleet::Fleet;
use anyhow::{Context, bail};
use chat_wire::rest::HistoryPage;
use chat_wire::socket::Message;
use chat_wire::{ConversationId, UserId};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

/// A message the traffic (or a fault) handed to an engine.
#[derive(Clone, Debug)]
pub struct Sent {
    /// The fleet client of its sender (the crash client sends as fleet client 0's user).
    pub client: usize,
    pub conversation: ConversationId,
    pub id: chat_engine::ClientMessageId,
    pub text: String,
}

/// What each sent message was, by clientMessageId: its sender and text.
pub type Sending<'a> = HashMap<String, (UserId, &'a str)>;

/// The sender and text of every message in `sent`, by clientMessageId.
pub fn sending<'a>(fleet: &Fleet, sent: &'a [Sent]) -> Sending<'a> {
    sent.iter()
        .map(|m| {
            (
                m.id.to_string(),
                (fleet.clients[m.client].user, m.text.as_str()),
            )
        })
        .collect()
}

/// One participant's engine as the checks see it: a fleet client, or the crash client.
#[derive(Debug)]
pub struct Viewer<'a> {
    pub name: String,
    pub client: &'a client_native::NativeClient,
    pub conversations: &'a [ConversationId],
    /// Holds only the messages since it (re)started: history older than its oldest held
    /// message is not expected (an engine started afresh fetches the latest page).
    pub since_start: bool,
}

/// History pages per conversation at most (500 messages each): a bound, not a limit
/// any run reaches.
const MAX_PAGES: usize = 10_000;

/// Every stored message of `conversation`, oldest first, through `GET
/// /api/conversations/:id/messages?afterSeq=…` at `base` with a participant's `token`.
pub async fn history(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    conversation: ConversationId,
) -> anyhow::Result<Vec<Message>> {
    let mut messages: Vec<Message> = Vec::new();
    for _ in 0..MAX_PAGES {
        let after = messages.last().map_or(0, |m| m.seq);
        let url = format!(
            "{base}/api/conversations/{}/messages?afterSeq={after}&limit=500",
            conversation.0
        );
        let response = http
            .get(&url)
            .bearer_auth(token)
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .with_context(|| format!("GET {url}"))?;
        let status = response.status();
        let body = response.text().await?;
        if !status.is_success() {
            bail!("GET {url}: HTTP {status}: {body}");
        }
        let page: HistoryPage =
            serde_json::from_str(&body).with_context(|| format!("GET {url}: {body}"))?;
        let done = !page.has_more || page.messages.is_empty();
        messages.extend(page.messages);
        if done {
            return Ok(messages);
        }
    }
    bail!(
        "conversation {} has more than {MAX_PAGES} pages",
        conversation.0
    )
}

/// Every sent message was acknowledged, once, at one seq.
pub fn acks(fleet: &Fleet, sent: &[Sent], acked: &[(ConversationId, i64, String)]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seqs: HashMap<&str, Vec<(ConversationId, i64)>> = HashMap::new();
    for (conversation, seq, id) in acked {
        seqs.entry(id.as_str())
            .or_default()
            .push((*conversation, *seq));
    }
    for message in sent {
        let user = fleet.clients[message.client].user;
        match seqs.get(message.id.to_string().as_str()).map(Vec::as_slice) {
            None | Some([]) => problems.push(format!(
                "never acknowledged: message {} of user {} in conversation {}",
                message.id, user.0, message.conversation.0
            )),
            Some([(conversation, _)]) if *conversation != message.conversation => {
                problems.push(format!(
                    "acknowledged in the wrong conversation: message {} of user {} sent to {}, acked in {}",
                    message.id, user.0, message.conversation.0, conversation.0
                ));
            }
            Some([_]) => {}
            Some(many) => problems.push(format!(
                "acknowledged {} times: message {} of user {} in conversation {} (seqs {:?})",
                many.len(),
                message.id,
                user.0,
                message.conversation.0,
                many.iter().map(|(_, seq)| seq).collect::<Vec<_>>()
            )),
        }
    }
    problems
}

/// The database holds every acknowledged message once, at its acked seq, with gapless
/// seqs, nothing our clients sent that was never acknowledged, and every message we sent
/// with the text and sender its client sent.
pub fn database(
    stored: &BTreeMap<ConversationId, Vec<Message>>,
    acked: &[(ConversationId, i64, String)],
    sending: &Sending<'_>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (conversation, messages) in stored {
        for message in messages {
            let Some(id) = &message.client_message_id else {
                continue;
            };
            let Some((sender, text)) = sending.get(id) else {
                continue;
            };
            if message.sender_id != *sender {
                problems.push(format!(
                    "database: conversation {} seq {} stores message {id} as sent by user {}, but user {} sent it",
                    conversation.0, message.seq, message.sender_id.0, sender.0
                ));
            }
            if message.text != *text {
                problems.push(format!(
                    "database: conversation {} seq {} stores message {id} with the text {:?}, but its client sent {text:?}",
                    conversation.0, message.seq, message.text
                ));
            }
        }
    }
    let mut acked_by_conversation: HashMap<ConversationId, HashMap<&str, i64>> = HashMap::new();
    for (conversation, seq, id) in acked {
        acked_by_conversation
            .entry(*conversation)
            .or_default()
            .insert(id.as_str(), *seq);
    }
    for (conversation, messages) in stored {
        let c = conversation.0;
        let mut expected_seq = 1;
        for message in messages {
            if message.seq != expected_seq {
                problems.push(format!(
                    "database: conversation {c} has seq {} where {expected_seq} belongs (gap or disorder)",
                    message.seq
                ));
                expected_seq = message.seq;
            }
            expected_seq += 1;
        }
        let mut by_key: HashMap<(UserId, &str), Vec<i64>> = HashMap::new();
        for message in messages {
            if let Some(id) = &message.client_message_id {
                by_key
                    .entry((message.sender_id, id.as_str()))
                    .or_default()
                    .push(message.seq);
            }
        }
        for ((user, id), seqs) in &by_key {
            if seqs.len() > 1 {
                problems.push(format!(
                    "database: conversation {c} stores message {id} of user {} {} times (seqs {seqs:?})",
                    user.0,
                    seqs.len()
                ));
            }
        }
        let acked_here = acked_by_conversation
            .remove(conversation)
            .unwrap_or_default();
        let mut stored_seq: HashMap<&str, i64> = HashMap::new();
        for message in messages {
            if let Some(id) = &message.client_message_id {
                stored_seq.entry(id.as_str()).or_insert(message.seq);
            }
        }
        for (id, seq) in &acked_here {
            match stored_seq.get(id) {
                None => problems.push(format!(
                    "database: acked message {id} (conversation {c}, seq {seq}) is missing"
                )),
                Some(at) if at != seq => problems.push(format!(
                    "database: acked message {id} of conversation {c} was acked at seq {seq} but is stored at seq {at}"
                )),
                Some(_) => {}
            }
        }
        for message in messages {
            if let Some(id) = &message.client_message_id
                && !acked_here.contains_key(id.as_str())
            {
                problems.push(format!(
                    "database: conversation {c} seq {} holds message {id} of user {} that no client saw acknowledged",
                    message.seq, message.sender_id.0
                ));
            }
        }
    }
    for (conversation, ids) in acked_by_conversation {
        problems.push(format!(
            "database: conversation {} was not read, yet {} messages were acked in it",
            conversation.0,
            ids.len()
        ));
    }
    problems
}

/// Every participant's timeline equals the database: the same (seq, clientMessageId,
/// sender, text), each once, in seq order.
pub fn timelines(fleet: &Fleet, stored: &BTreeMap<ConversationId, Vec<Message>>) -> Vec<String> {
    let mut problems = Vec::new();
    for (conversation, members) in &fleet.conversations {
        let c = conversation.0;
        let expected: Vec<(i64, Option<&str>)> = stored
            .get(conversation)
            .map(|messages| {
                messages
                    .iter()
                    .map(|m| (m.seq, m.client_message_id.as_deref()))
                    .collect()
            })
            .unwrap_or_default();
        let by_seq: HashMap<i64, &Message> = stored
            .get(conversation)
            .map(|messages| messages.iter().map(|m| (m.seq, m)).collect())
            .unwrap_or_default();
        for &member in members {
            let user = fleet.clients[member].user.0;
            let Some(view) = fleet.clients[member].client.conversation(*conversation) else {
                problems.push(format!(
                    "user {user}: conversation {c} is missing from the engine ({} messages lost)",
                    expected.len()
                ));
                continue;
            };
            let held: Vec<(i64, &chat_engine::MessageView)> = view
                .messages
                .iter()
                .filter_map(|m| Some((m.seq?, m.as_ref())))
                .collect();
            let mut seen = HashSet::new();
            let mut doubled = Vec::new();
            for (seq, _) in &held {
                if !seen.insert(*seq) {
                    doubled.push(*seq);
                }
            }
            let missing: Vec<i64> = expected
                .iter()
                .filter(|(seq, _)| !seen.contains(seq))
                .map(|(seq, _)| *seq)
                .collect();
            let out_of_order = held.windows(2).filter(|w| w[0].0 >= w[1].0).count();
            let mut different = Vec::new();
            let mut altered = Vec::new();
            let mut unknown = Vec::new();
            for (seq, held) in &held {
                match by_seq.get(seq) {
                    None => unknown.push(*seq),
                    Some(stored) if stored.client_message_id != held.client_message_id => {
                        different.push(*seq);
                    }
                    Some(stored)
                        if stored.text != held.text || Some(stored.sender_id) != held.sender_id =>
                    {
                        altered.push(format!(
                            "seq {seq}: {:?} from user {:?}, stored {:?} from user {}",
                            held.text,
                            held.sender_id.map(|u| u.0),
                            stored.text,
                            stored.sender_id.0
                        ));
                    }
                    Some(_) => {}
                }
            }
            if !missing.is_empty() {
                problems.push(format!(
                    "user {user}, conversation {c}: lost {} messages, seqs {}",
                    missing.len(),
                    ranges(&missing)
                ));
            }
            if !doubled.is_empty() {
                problems.push(format!(
                    "user {user}, conversation {c}: doubled seqs {}",
                    ranges(&doubled)
                ));
            }
            if out_of_order > 0 {
                problems.push(format!(
                    "user {user}, conversation {c}: {out_of_order} places out of seq order"
                ));
            }
            if !unknown.is_empty() {
                problems.push(format!(
                    "user {user}, conversation {c}: seqs {} are not in the database",
                    ranges(&unknown)
                ));
            }
            if !different.is_empty() {
                problems.push(format!(
                    "user {user}, conversation {c}: seqs {} hold another message than the database",
                    ranges(&different)
                ));
            }
            if !altered.is_empty() {
                problems.push(format!(
                    "user {user}, conversation {c}: {} messages differ from the database in text or sender: {}",
                    altered.len(),
                    altered.iter().take(5).cloned().collect::<Vec<_>>().join("; ")
                ));
            }
            let pending = view.messages.iter().filter(|m| m.seq.is_none()).count();
            if pending > 0 {
                problems.push(format!(
                    "user {user}, conversation {c}: {pending} messages still unsent"
                ));
            }
        }
    }
    problems
}

/// Each of `messages` (sent during one fault) is stored exactly once, and every viewer in
/// its conversation holds it exactly once, at its stored seq.
pub fn delivered_once(
    messages: &[Sent],
    stored: &BTreeMap<ConversationId, Vec<Message>>,
    viewers: &[Viewer<'_>],
) -> Vec<String> {
    let mut problems = Vec::new();
    for message in messages {
        let id = message.id.to_string();
        let c = message.conversation.0;
        let seqs: Vec<i64> = stored
            .get(&message.conversation)
            .into_iter()
            .flatten()
            .filter(|m| m.client_message_id.as_deref() == Some(id.as_str()))
            .map(|m| m.seq)
            .collect();
        let [seq] = seqs[..] else {
            problems.push(format!(
                "message {id} ({:?}, conversation {c}) is stored {} times (seqs {seqs:?}), not once",
                message.text,
                seqs.len()
            ));
            continue;
        };
        for viewer in viewers {
            if !viewer.conversations.contains(&message.conversation) {
                continue;
            }
            let view = viewer.client.conversation(message.conversation);
            let oldest = view
                .as_ref()
                .and_then(|view| view.messages.iter().find_map(|m| m.seq));
            if viewer.since_start && oldest.is_none_or(|oldest| seq < oldest) {
                continue;
            }
            let held: Vec<Option<i64>> = view
                .map(|view| {
                    view.messages
                        .iter()
                        .filter(|m| m.client_message_id.as_deref() == Some(id.as_str()))
                        .map(|m| m.seq)
                        .collect()
                })
                .unwrap_or_default();
            if held != [Some(seq)] {
                problems.push(format!(
                    "{}: message {id} ({:?}, conversation {c}, stored at seq {seq}) is held {} times, at seqs {held:?}",
                    viewer.name,
                    message.text,
                    held.len()
                ));
            }
        }
    }
    problems
}

/// `1-3, 7, 9-10` for sorted or unsorted seqs.
pub fn ranges(seqs: &[i64]) -> String {
    let mut sorted = seqs.to_vec();
    sorted.sort_unstable();
    let mut parts: Vec<String> = Vec::new();
    let mut index = 0;
    while index < sorted.len() {
        let start = sorted[index];
        let mut end = start;
        while index + 1 < sorted.len() && sorted[index + 1] <= end + 1 {
            index += 1;
            end = sorted[index];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        index += 1;
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_compress_runs() {
        assert_eq!(ranges(&[9, 1, 2, 3, 7, 10]), "1-3, 7, 9-10");
        assert_eq!(ranges(&[4, 4]), "4");
        assert_eq!(ranges(&[]), "");
    }

    fn message(seq: i64, id: &str) -> Message {
        Message {
            id: chat_wire::MessageId(seq),
            conversation_id: ConversationId(1),
            seq,
            sender_id: UserId(7),
            text: String::new(),
            client_message_id: Some(id.to_owned()),
            created_at: String::new(),
        }
    }

    #[test]
    fn the_database_check_names_gaps_doubles_and_missing_acks() {
        let stored = BTreeMap::from([(
            ConversationId(1),
            vec![message(1, "a"), message(3, "b"), message(4, "b")],
        )]);
        let acked = vec![
            (ConversationId(1), 1, "a".to_owned()),
            (ConversationId(1), 2, "c".to_owned()),
            (ConversationId(1), 3, "b".to_owned()),
        ];
        let problems = database(&stored, &acked, &Sending::new()).join("\n");
        assert!(problems.contains("seq 3 where 2 belongs"), "{problems}");
        assert!(
            problems.contains("stores message b of user 7 2 times"),
            "{problems}"
        );
        assert!(
            problems.contains("acked message c (conversation 1, seq 2) is missing"),
            "{problems}"
        );
        assert_eq!(
            database(&stored, &acked, &Sending::new()).len(),
            3,
            "{problems}"
        );
    }

    #[test]
    fn the_database_check_names_a_changed_text_or_sender() {
        let stored = BTreeMap::from([(
            ConversationId(1),
            vec![message(1, "a"), message(2, "b"), message(3, "c")],
        )]);
        let acked: Vec<_> = ["a", "b", "c"]
            .iter()
            .zip(1..)
            .map(|(id, seq)| (ConversationId(1), seq, (*id).to_owned()))
            .collect();
        // message() stores an empty text from user 7.
        let sending = Sending::from([
            ("a".to_owned(), (UserId(7), "")),
            ("b".to_owned(), (UserId(7), "hello")),
            ("c".to_owned(), (UserId(8), "")),
        ]);
        let problems = database(&stored, &acked, &sending);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].contains("message b with the text \"\", but its client sent \"hello\""),
            "{problems:?}"
        );
        assert!(
            problems[1].contains("message c as sent by user 7, but user 8 sent it"),
            "{problems:?}"
        );
    }
}
