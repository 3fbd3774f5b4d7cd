//! The toxics of one proxy: its two chains (upstream, downstream) and the live links they apply
//! to. A change is sent to every live link of the toxic's direction while the collection is
//! locked, so every link sees changes in the order of the chain.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::model::{check_toxicity, ApiError, ToxicPatch};
use crate::toxics::{KindError, Stream, Toxic};

/// How long a toxic change waits for live links to apply it before answering anyway.
const APPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// A change to the toxics of a proxy, sent to each live link of the toxic's direction.
///
/// The `done` sender is dropped once the link applied the change: the API waits for that, so a
/// response means the toxic is active on every connection.
#[derive(Debug)]
pub(crate) enum LinkCommand {
    /// Append a toxic to the end of the chain.
    Add {
        toxic: Arc<Toxic>,
        #[allow(dead_code)] // dropped as the acknowledgement
        done: oneshot::Sender<()>,
    },
    /// Replace a toxic's attributes or toxicity in place.
    Update {
        toxic: Arc<Toxic>,
        #[allow(dead_code)]
        done: oneshot::Sender<()>,
    },
    /// Splice a toxic out.
    Remove {
        name: String,
        #[allow(dead_code)]
        done: oneshot::Sender<()>,
    },
}

/// The toxic chains of one proxy and the live links they apply to.
#[derive(Default)]
pub(crate) struct ToxicCollection {
    inner: Mutex<ToxicsInner>,
}

#[derive(Default)]
struct ToxicsInner {
    /// Indexed by [`Stream::index`]; the hidden noop is not listed.
    chains: [Vec<Arc<Toxic>>; 2],
    links: HashMap<u64, (Stream, mpsc::UnboundedSender<LinkCommand>)>,
    next_link: u64,
}

/// What a new link needs: the chain as it is now and the commands that change it from now on.
pub(crate) struct OpenedLink {
    pub(crate) toxics: Vec<Arc<Toxic>>,
    pub(crate) commands: mpsc::UnboundedReceiver<LinkCommand>,
    _registration: LinkRegistration,
}

/// Removes a link from its collection when the link ends.
struct LinkRegistration {
    id: u64,
    collection: Arc<ToxicCollection>,
}

impl Drop for LinkRegistration {
    fn drop(&mut self) {
        self.collection.lock().links.remove(&self.id);
    }
}

/// Acknowledgements from the links a change was sent to.
#[must_use = "wait for the links to apply the change"]
pub(crate) struct Applied(Vec<oneshot::Receiver<()>>);

impl Applied {
    /// Waits until every link applied the change (each drops its acknowledgement when done).
    pub(crate) async fn wait(self) {
        let all = futures::future::join_all(self.0);
        if tokio::time::timeout(APPLY_TIMEOUT, all).await.is_err() {
            tracing::warn!(
                "some connections took more than {APPLY_TIMEOUT:?} to apply a toxic change"
            );
        }
    }
}

impl ToxicCollection {
    fn lock(&self) -> MutexGuard<'_, ToxicsInner> {
        // A panic while holding this lock leaves plain data behind; keep serving.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers a link of `stream` and gives it the current chain.
    pub(crate) fn open_link(self: &Arc<Self>, stream: Stream) -> OpenedLink {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut inner = self.lock();
        let id = inner.next_link;
        inner.next_link += 1;
        inner.links.insert(id, (stream, tx));
        OpenedLink {
            toxics: inner.chains[stream.index()].clone(),
            commands: rx,
            _registration: LinkRegistration {
                id,
                collection: self.clone(),
            },
        }
    }

    pub(crate) fn list(&self) -> Vec<Arc<Toxic>> {
        let inner = self.lock();
        inner.chains.iter().flatten().cloned().collect()
    }

    pub(crate) fn get(&self, name: &str) -> Option<Arc<Toxic>> {
        self.lock()
            .chains
            .iter()
            .flatten()
            .find(|t| t.name == name)
            .cloned()
    }

    pub(crate) fn add(&self, toxic: Toxic) -> Result<(Arc<Toxic>, Applied), ApiError> {
        let mut inner = self.lock();
        if inner.chains.iter().flatten().any(|t| t.name == toxic.name) {
            return Err(ApiError::ToxicAlreadyExists);
        }
        let toxic = Arc::new(toxic);
        inner.chains[toxic.stream.index()].push(toxic.clone());
        let applied = inner.send(toxic.stream, |done| LinkCommand::Add {
            toxic: toxic.clone(),
            done,
        });
        Ok((toxic, applied))
    }

    pub(crate) fn update(
        &self,
        name: &str,
        patch: ToxicPatch,
    ) -> Result<(Arc<Toxic>, Applied), ApiError> {
        let mut inner = self.lock();
        let slot = inner
            .chains
            .iter_mut()
            .flatten()
            .find(|t| t.name == name)
            .ok_or(ApiError::ToxicNotFound)?;
        let mut updated = Toxic::clone(slot);
        if let Some(attributes) = &patch.attributes {
            updated.kind = updated.kind.patched(attributes).map_err(|e| match e {
                KindError::UnknownType => ApiError::InvalidToxicType,
                KindError::BadAttributes(msg) => ApiError::BadRequestBody(msg),
            })?;
        }
        if let Some(toxicity) = patch.toxicity {
            updated.toxicity = check_toxicity(toxicity)?;
        }
        let updated = Arc::new(updated);
        *slot = updated.clone();
        let applied = inner.send(updated.stream, |done| LinkCommand::Update {
            toxic: updated.clone(),
            done,
        });
        Ok((updated, applied))
    }

    pub(crate) fn remove(&self, name: &str) -> Result<Applied, ApiError> {
        let mut inner = self.lock();
        let stream = inner
            .chains
            .iter()
            .flatten()
            .find(|t| t.name == name)
            .map(|t| t.stream)
            .ok_or(ApiError::ToxicNotFound)?;
        inner.chains[stream.index()].retain(|t| t.name != name);
        Ok(inner.send(stream, |done| LinkCommand::Remove {
            name: name.to_owned(),
            done,
        }))
    }

    /// Removes every toxic (first to last, as toxiproxy).
    pub(crate) fn reset(&self) -> Applied {
        let mut inner = self.lock();
        let mut acks = Vec::new();
        for stream in Stream::ALL {
            let removed = std::mem::take(&mut inner.chains[stream.index()]);
            for toxic in removed {
                let name = toxic.name.clone();
                acks.extend(
                    inner
                        .send(stream, |done| LinkCommand::Remove {
                            name: name.clone(),
                            done,
                        })
                        .0,
                );
            }
        }
        Applied(acks)
    }
}

impl ToxicsInner {
    fn send(
        &mut self,
        stream: Stream,
        command: impl Fn(oneshot::Sender<()>) -> LinkCommand,
    ) -> Applied {
        let mut acks = Vec::new();
        for (link_stream, tx) in self.links.values() {
            if *link_stream == stream {
                let (done, ack) = oneshot::channel();
                if tx.send(command(done)).is_ok() {
                    acks.push(ack);
                }
            }
        }
        Applied(acks)
    }
}
