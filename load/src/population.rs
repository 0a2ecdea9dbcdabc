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

/// Registers `shape.users` fresh users and puts them into `shape.conversations` groups of
/// `shape.participants` (user `k` of conversation `c` is user `(c * P + k) mod U`).
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
    Ok(Population {
        members,
        conversations,
    })
}
