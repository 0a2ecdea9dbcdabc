//! Users and conversations for a run, made through the server's REST API.

use crate::{Common, Shape};
use anyhow::{Context, bail};
use chat_wire::{ConversationId, UserId};
use client_native::api::Api;
use std::sync::Arc;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// A registered user and the conversations it is in.
#[derive(Clone, Debug)]
pub struct Member {
    pub user: UserId,
    pub token: String,
    pub conversations: Vec<ConversationId>,
}

/// Everyone in a run.
#[derive(Debug)]
pub struct Population {
    pub members: Vec<Member>,
    /// Each conversation's participants, by index into `members`.
    pub conversations: Vec<(ConversationId, Vec<usize>)>,
}

/// One member per socket: each user repeated `sockets` times in a row, and every
/// conversation's participants expanded to all of their sockets.
fn with_sockets_per_user(population: Population, sockets: usize) -> Population {
    let sockets = sockets.max(1);
    let members = population
        .members
        .into_iter()
        .flat_map(|member| std::iter::repeat_n(member, sockets))
        .collect();
    let conversations = population
        .conversations
        .into_iter()
        .map(|(id, users)| {
            let expanded = users
                .iter()
                .flat_map(|&user| user * sockets..(user + 1) * sockets)
                .collect();
            (id, expanded)
        })
        .collect();
    Population {
        members,
        conversations,
    }
}

/// Registers `shape.users` fresh users and puts them into `shape.conversations` groups of
/// `shape.participants` (user `k` of conversation `c` is user `(c * P + k) mod U`), with
/// `shape.sockets_per_user` members (engines) per user.
pub async fn populate(common: &Common, shape: &Shape) -> anyhow::Result<Population> {
    if shape.users == 0 || shape.participants < 2 || shape.participants > shape.users {
        bail!("need at least 2 participants per conversation and no more than there are users");
    }
    let api = Api::new(&common.url);
    // Fresh names per run, so a run never logs into another run's users.
    let run = format!("{:x}", fastrand::u32(..));
    let limit = Arc::new(Semaphore::new(common.setup_concurrency.max(1)));
    let mut registrations = JoinSet::new();
    for index in 0..shape.users {
        let (api, limit, name) = (api.clone(), limit.clone(), format!("load{run}u{index}"));
        registrations.spawn(async move {
            let _permit = limit.acquire_owned().await?;
            let auth = api
                .register(&name, "load-test-password")
                .await
                .with_context(|| format!("registering {name}"))?;
            anyhow::Ok((index, auth))
        });
    }
    let mut members: Vec<Option<Member>> = vec![None; shape.users];
    while let Some(joined) = registrations.join_next().await {
        let (index, auth) = joined??;
        members[index] = Some(Member {
            user: auth.user.id,
            token: auth.token,
            conversations: Vec::new(),
        });
    }
    let mut members: Vec<Member> = members.into_iter().flatten().collect();

    let mut creations = JoinSet::new();
    for c in 0..shape.conversations {
        let indices: Vec<usize> = (0..shape.participants)
            .map(|k| (c * shape.participants + k) % shape.users)
            .collect();
        let creator = members[indices[0]].token.clone();
        let others: Vec<UserId> = indices[1..].iter().map(|&i| members[i].user).collect();
        let (api, limit) = (api.clone(), limit.clone());
        creations.spawn(async move {
            let _permit = limit.acquire_owned().await?;
            // A title makes every conversation a group, so two pairs never collapse into one
            // direct conversation.
            let conversation = api
                .create_conversation(&creator, &others, Some(&format!("load {c}")))
                .await
                .with_context(|| format!("creating conversation {c}"))?;
            anyhow::Ok((conversation.id, indices))
        });
    }
    let mut conversations = Vec::with_capacity(shape.conversations);
    while let Some(joined) = creations.join_next().await {
        conversations.push(joined??);
    }
    conversations.sort_by_key(|(id, _)| *id);
    for (id, indices) in &conversations {
        for &i in indices {
            members[i].conversations.push(*id);
        }
    }
    Ok(with_sockets_per_user(
        Population {
            members,
            conversations,
        },
        shape.sockets_per_user,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(user: i64, conversations: &[i64]) -> Member {
        Member {
            user: UserId(user),
            token: format!("token{user}"),
            conversations: conversations.iter().copied().map(ConversationId).collect(),
        }
    }

    #[test]
    fn several_sockets_per_user_repeat_members_and_expand_participants() {
        let population = Population {
            members: vec![member(10, &[1]), member(11, &[1, 2]), member(12, &[2])],
            conversations: vec![
                (ConversationId(1), vec![0, 1]),
                (ConversationId(2), vec![1, 2]),
            ],
        };
        let expanded = with_sockets_per_user(population, 3);
        let users: Vec<i64> = expanded.members.iter().map(|m| m.user.0).collect();
        assert_eq!(users, [10, 10, 10, 11, 11, 11, 12, 12, 12]);
        assert_eq!(expanded.members[4].conversations.len(), 2);
        assert_eq!(expanded.conversations[0].1, [0, 1, 2, 3, 4, 5]);
        assert_eq!(expanded.conversations[1].1, [3, 4, 5, 6, 7, 8]);
        for (id, members) in &expanded.conversations {
            for &m in members {
                assert!(expanded.members[m].conversations.contains(id));
            }
        }
    }
}
