//! The checks after healing, each returning readable problems (who lost, doubled or
//! misordered what) instead of counts.
//!
//! The reference is the database as the REST history returns it: every acknowledged
//! message must be there once, at the seq its ack named, seqs gapless; and every
//! participant's timeline must equal it.

use crate::fleet::Fleet;
use anyhow::{Context, bail};
use chat_wire::rest::HistoryPage;
use chat_wire::socket::Message;
use chat_wire::{ConversationId, UserId};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

/// A message the traffic handed to an engine.
#[derive(Clone, Debug)]
pub struct Sent {
    pub client: usize,
    pub conversation: ConversationId,
    pub id: chat_engine::ClientMessageId,
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
/// seqs, and nothing our clients sent that was never acknowledged.
pub fn database(
    stored: &BTreeMap<ConversationId, Vec<Message>>,
    acked: &[(ConversationId, i64, String)],
) -> Vec<String> {
    let mut problems = Vec::new();
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

/// Every participant's timeline equals the database: the same (seq, clientMessageId)
/// pairs, each once, in seq order.
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
        let by_seq: HashMap<i64, Option<&str>> = expected.iter().copied().collect();
        for &member in members {
            let user = fleet.clients[member].user.0;
            let Some(view) = fleet.clients[member].client.conversation(*conversation) else {
                problems.push(format!(
                    "user {user}: conversation {c} is missing from the engine ({} messages lost)",
                    expected.len()
                ));
                continue;
            };
            let held: Vec<(i64, Option<&str>)> = view
                .messages
                .iter()
                .filter_map(|m| Some((m.seq?, m.client_message_id.as_deref())))
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
            let mut unknown = Vec::new();
            for (seq, id) in &held {
                match by_seq.get(seq) {
                    None => unknown.push(*seq),
                    Some(stored_id) if stored_id != id => different.push(*seq),
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
        let problems = database(&stored, &acked).join("\n");
        assert!(problems.contains("seq 3 where 2 belongs"), "{problems}");
        assert!(
            problems.contains("stores message b of user 7 2 times"),
            "{problems}"
        );
        assert!(
            problems.contains("acked message c (conversation 1, seq 2) is missing"),
            "{problems}"
        );
        assert_eq!(database(&stored, &acked).len(), 3, "{problems}");
    }
}
