//! Links: the two one-way pipes of a proxied connection, and the connection task that owns them.
//!
//! ```text
//!   client ──▶ upstream link   (client socket ─▶ toxics ─▶ server socket) ──▶ server
//!   client ◀── downstream link (server socket ─▶ toxics ─▶ client socket) ◀── server
//! ```
//!
//! A link with no toxics copies bytes in place: one reusable buffer, no allocation per chunk, no
//! extra tasks (pass-through). It also listens for commands from its proxy's toxic collection;
//! when a toxic is added it switches to the chain:
//!
//! ```text
//!   reader task ──chunks──▶ [noop] ──▶ [toxic 1] ──▶ … ──▶ [toxic n] ──▶ writer task
//!   (stamps each chunk)      stub tasks, joined by channels      (drains the tail)
//! ```
//!
//! Adding a toxic interrupts the tail stub and splices a new stub behind it. Removing one
//! interrupts it and its predecessor, hands everything the removed stub held (pending chunks and
//! its queued input) to the predecessor in stream order, and points the predecessor at the
//! removed stub's output: no byte is dropped. When only the noop is left the reader is stopped,
//! the chain drains into the socket, and the link goes back to pass-through.
//!
//! A link ends at the end of its input (it half-closes its destination and the other direction
//! carries on), when a toxic closes the connection (FIN on both sides, or RST for reset_peer),
//! on an I/O error, or when the proxy is disabled or deleted (both sockets are closed at once).

use std::collections::VecDeque;
use std::io;
use std::net::Shutdown;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::toxic_collection::{LinkCommand, OpenedLink, ToxicCollection};
use crate::toxics::{
    roll, run_stub, CloseKind, CloseSignal, Stream, StreamChunk, Toxic, ToxicStub,
};

/// Size of the pass-through buffer and of the reads in chain mode (toxiproxy's io.Copy: 32 KiB).
const CHUNK: usize = 32 * 1024;
/// Chunks the reader may queue ahead of the chain head.
const READ_QUEUE: usize = 4;
/// Chunks the tail may queue ahead of the writer.
const WRITE_QUEUE: usize = 4;
/// How long an aborted connection waits for its peers to close after our FIN.
const ABORT_LINGER: Duration = Duration::from_secs(1);

/// How a link ended, from mildest to most severe (the connection acts on the worst of its two).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum LinkEnd {
    /// End of input: the destination was half-closed.
    Eof,
    /// The proxy was stopped, or the other direction ended the connection.
    Cancelled,
    /// A socket failed.
    Failed,
    /// A toxic ended the connection.
    Closed(CloseKind),
}

impl LinkEnd {
    /// Whether the other direction must stop too.
    fn ends_connection(self) -> bool {
        !matches!(self, LinkEnd::Eof)
    }
}

/// Serves one accepted client: connects upstream, runs both links, closes as they ask.
pub(crate) async fn serve_connection(
    client: TcpStream,
    upstream: String,
    toxics: Arc<ToxicCollection>,
    cancel: CancellationToken,
) {
    let server = tokio::select! {
        biased;
        () = cancel.cancelled() => return,
        server = TcpStream::connect(upstream.as_str()) => server,
    };
    let server = match server {
        Ok(server) => server,
        Err(error) => {
            tracing::warn!(%upstream, %error, "unable to open connection to upstream");
            return;
        }
    };
    // Small request/response protocols (Redis, Kafka, Postgres) must not wait for Nagle.
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let client = Arc::new(client);
    let server = Arc::new(server);
    let signal = Arc::new(CloseSignal::default());
    let conn = cancel.child_token();

    let up = Link::new(
        Stream::Upstream,
        client.clone(),
        server.clone(),
        toxics.open_link(Stream::Upstream),
        signal.clone(),
        conn.clone(),
    );
    let down = Link::new(
        Stream::Downstream,
        server.clone(),
        client.clone(),
        toxics.open_link(Stream::Downstream),
        signal.clone(),
        conn.clone(),
    );
    let run = |link: Link| {
        let conn = conn.clone();
        async move {
            let end = link.run().await;
            if end.ends_connection() {
                conn.cancel();
            }
            end
        }
    };
    let (a, b) = tokio::join!(run(up), run(down));
    let end = a.max(b);
    tracing::debug!(?end, "connection closed");
    match end {
        LinkEnd::Closed(CloseKind::Reset) => {
            // RST instead of FIN once the last reference closes the sockets.
            let _ = client.set_zero_linger();
            let _ = server.set_zero_linger();
        }
        LinkEnd::Closed(CloseKind::Abort) => {
            shutdown_write(&client);
            shutdown_write(&server);
            // Let both peers see the FIN and close first, so unread data does not turn it
            // into a RST; bounded, and cut short if the proxy stops.
            tokio::select! {
                biased;
                () = cancel.cancelled() => {}
                _ = tokio::time::timeout(ABORT_LINGER, async {
                    tokio::join!(discard_until_eof(&client), discard_until_eof(&server))
                }) => {}
            }
        }
        _ => {}
    }
}

/// One direction of a connection.
struct Link {
    stream: Stream,
    src: Arc<TcpStream>,
    dst: Arc<TcpStream>,
    opened: OpenedLink,
    signal: Arc<CloseSignal>,
    cancel: CancellationToken,
}

/// Why pass-through stopped.
enum Pass {
    /// A toxic was added: switch to the chain.
    Toxic(Arc<Toxic>),
    End(LinkEnd),
}

/// Why chain mode stopped.
enum ChainExit {
    /// Only the noop was left and it drained: back to pass-through.
    Drained,
    End(LinkEnd),
}

impl Link {
    fn new(
        stream: Stream,
        src: Arc<TcpStream>,
        dst: Arc<TcpStream>,
        opened: OpenedLink,
        signal: Arc<CloseSignal>,
        cancel: CancellationToken,
    ) -> Self {
        Self {
            stream,
            src,
            dst,
            opened,
            signal,
            cancel,
        }
    }

    async fn run(mut self) -> LinkEnd {
        let mut toxics = std::mem::take(&mut self.opened.toxics);
        let mut buf: Option<Box<[u8]>> = None;
        let end = loop {
            if toxics.is_empty() {
                let buf = buf.get_or_insert_with(|| vec![0; CHUNK].into_boxed_slice());
                match self.pass_through(buf).await {
                    Pass::Toxic(toxic) => toxics.push(toxic),
                    Pass::End(end) => break end,
                }
            } else {
                match self.chain(std::mem::take(&mut toxics)).await {
                    ChainExit::Drained => {
                        tracing::trace!(stream = %self.stream, "back to pass-through")
                    }
                    ChainExit::End(end) => break end,
                }
            }
        };
        if end == LinkEnd::Eof {
            shutdown_write(&self.dst);
        }
        end
    }

    /// Copies bytes with one reusable buffer until a toxic is added or the link ends.
    async fn pass_through(&mut self, buf: &mut [u8]) -> Pass {
        let cancelled = self.cancel.cancelled();
        tokio::pin!(cancelled);
        loop {
            tokio::select! {
                biased;
                () = &mut cancelled => return Pass::End(LinkEnd::Cancelled),
                command = self.opened.commands.recv() => match command {
                    Some(LinkCommand::Add { toxic, .. }) => return Pass::Toxic(toxic),
                    // Nothing to update or remove on a bare link (a command that raced ours).
                    Some(_) => {}
                    None => return Pass::End(LinkEnd::Cancelled),
                },
                ready = self.src.readable() => {
                    if ready.is_err() {
                        return Pass::End(LinkEnd::Failed);
                    }
                    match read_draining(&self.src, buf) {
                        Ok(0) => return Pass::End(LinkEnd::Eof),
                        Ok(n) => {
                            if let Err(end) = write_all(&self.dst, &buf[..n], &self.cancel).await {
                                return Pass::End(end);
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(_) => return Pass::End(LinkEnd::Failed),
                    }
                }
            }
        }
    }

    /// Runs the toxic chain, applying commands, until it drains back to bare or the link ends.
    async fn chain(&mut self, toxics: Vec<Arc<Toxic>>) -> ChainExit {
        let mut chain = Chain::start(
            self.src.clone(),
            self.dst.clone(),
            toxics,
            self.signal.clone(),
            self.cancel.clone(),
        );
        loop {
            let event = tokio::select! {
                biased;
                () = self.cancel.cancelled() => None,
                command = self.opened.commands.recv() => Some(Ok(command)),
                written = chain.writer_done() => Some(Err(written)),
            };
            match event {
                None | Some(Ok(None)) => {
                    chain.abort().await;
                    return ChainExit::End(LinkEnd::Cancelled);
                }
                Some(Ok(Some(command))) => {
                    chain.apply(command).await;
                    if chain.is_bare() {
                        return chain.drain(&self.cancel).await;
                    }
                }
                Some(Err(written)) => return ChainExit::End(chain.finish(written).await),
            }
        }
    }
}

/// How the reader task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadEnd {
    /// The source reached its end.
    Eof,
    /// Asked to stop (or the chain head went away); nothing was read that was not sent.
    Stopped,
    /// The source failed.
    Failed,
}

/// How the writer task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WriteEnd {
    /// Its input closed and everything was written.
    Drained,
    /// The destination failed (or the link was cancelled mid-write).
    Failed,
}

/// A running chain: reader, stubs (noop first), writer.
struct Chain {
    reader: Option<JoinHandle<ReadEnd>>,
    stop_reader: Option<oneshot::Sender<()>>,
    stubs: Vec<StubHandle>,
    writer: Option<JoinHandle<WriteEnd>>,
    /// Stubs spliced out while their predecessor had already closed, draining what they held.
    orphans: Vec<StubHandle>,
    signal: Arc<CloseSignal>,
}

impl Chain {
    fn start(
        src: Arc<TcpStream>,
        dst: Arc<TcpStream>,
        toxics: Vec<Arc<Toxic>>,
        signal: Arc<CloseSignal>,
        cancel: CancellationToken,
    ) -> Self {
        let (reader_tx, mut input) = mpsc::channel(READ_QUEUE);
        let (stop_reader, stop_rx) = oneshot::channel();
        let reader = tokio::spawn(read_loop(src, reader_tx, stop_rx));
        let entries: Vec<Option<Arc<Toxic>>> = std::iter::once(None)
            .chain(toxics.into_iter().map(Some))
            .collect();
        let mut stubs = Vec::with_capacity(entries.len());
        for (i, entry) in entries.iter().enumerate() {
            let capacity = match entries.get(i + 1) {
                Some(Some(next)) => next.kind.buffer_size(),
                _ => WRITE_QUEUE,
            };
            let (tx, rx) = mpsc::channel(capacity);
            let stub = new_stub(input, tx, entry.as_deref(), &signal);
            stubs.push(StubHandle::spawn(stub, entry.clone()));
            input = rx;
        }
        let writer = tokio::spawn(write_loop(dst, input, cancel));
        Self {
            reader: Some(reader),
            stop_reader: Some(stop_reader),
            stubs,
            writer: Some(writer),
            orphans: Vec::new(),
            signal,
        }
    }

    /// Resolves when the writer ends on its own (the chain closed or the destination failed).
    async fn writer_done(&mut self) -> WriteEnd {
        match self.writer.as_mut() {
            Some(writer) => {
                let end = writer.await.unwrap_or(WriteEnd::Failed);
                self.writer = None;
                end
            }
            None => std::future::pending().await,
        }
    }

    fn is_bare(&self) -> bool {
        self.stubs.len() == 1
    }

    async fn apply(&mut self, command: LinkCommand) {
        match command {
            LinkCommand::Add { toxic, .. } => self.add(toxic).await,
            LinkCommand::Update { toxic, .. } => self.update(toxic).await,
            LinkCommand::Remove { name, .. } => self.remove(&name).await,
        }
    }

    /// Interrupts the tail and splices a new stub behind it.
    async fn add(&mut self, toxic: Arc<Toxic>) {
        let tail = self.stubs.last_mut().expect("a chain always has its noop");
        let Some(mut tail_stub) = tail.interrupt().await else {
            // The tail closed: the connection is ending. Keep the bookkeeping only.
            self.stubs.push(StubHandle::closed(Some(toxic)));
            return;
        };
        let (tx, rx) = mpsc::channel(toxic.kind.buffer_size());
        let output = tail_stub.replace_output(tx);
        tail.respawn(tail_stub);
        let stub = new_stub(rx, output, Some(&toxic), &self.signal);
        self.stubs.push(StubHandle::spawn(stub, Some(toxic)));
    }

    /// Restarts a toxic's stub with new attributes and a new toxicity roll.
    async fn update(&mut self, toxic: Arc<Toxic>) {
        let Some(handle) = self
            .stubs
            .iter_mut()
            .find(|s| s.name() == Some(toxic.name.as_str()))
        else {
            return;
        };
        handle.toxic = Some(toxic.clone());
        if let Some(mut stub) = handle.interrupt().await {
            stub.enabled = roll(toxic.toxicity);
            handle.respawn(stub);
        }
    }

    /// Splices a toxic out without dropping what it held.
    async fn remove(&mut self, name: &str) {
        let Some(index) = self.stubs.iter().position(|s| s.name() == Some(name)) else {
            return;
        };
        let mut removed = self.stubs.remove(index);
        let Some(mut gone) = removed.interrupt().await else {
            // It had closed already; the connection is ending and its predecessor will see
            // its output fail.
            return;
        };
        if let Some(toxic) = &removed.toxic {
            if let crate::toxics::Cleanup::Close(kind) = toxic.kind.cleanup() {
                // Dropping the stub closes its output: the chain ends and the link closes.
                self.signal.raise(kind);
                drop(gone);
                return;
            }
        }
        let previous = &mut self.stubs[index - 1];
        match previous.interrupt().await {
            Some(mut prev) => {
                let held: VecDeque<StreamChunk> = gone.take_buffered();
                prev.prepend_pending(held);
                prev.replace_output(gone.into_output());
                previous.respawn(prev);
            }
            None => {
                // The predecessor closed (end of input): the removed stub forwards what is
                // left as a noop and closes after it.
                self.orphans.push(StubHandle::spawn(gone, None));
            }
        }
    }

    /// Stops the reader and lets the bare chain drain into the socket; then either the link
    /// goes back to pass-through or it ended meanwhile.
    async fn drain(&mut self, cancel: &CancellationToken) -> ChainExit {
        if let Some(stop) = self.stop_reader.take() {
            let _ = stop.send(());
        }
        let read = match self.reader.take() {
            Some(reader) => reader.await.unwrap_or(ReadEnd::Failed),
            None => ReadEnd::Failed,
        };
        // The reader dropped its sender: the noop forwards the rest and closes; the writer
        // drains it.
        let written = tokio::select! {
            biased;
            () = cancel.cancelled() => {
                self.abort().await;
                return ChainExit::End(LinkEnd::Cancelled);
            }
            written = self.writer_done() => written,
        };
        self.abort().await;
        match (read, written, self.signal.get()) {
            (_, _, kind @ (CloseKind::Abort | CloseKind::Reset)) => {
                ChainExit::End(LinkEnd::Closed(kind))
            }
            (_, WriteEnd::Failed, _) | (ReadEnd::Failed, _, _) => ChainExit::End(LinkEnd::Failed),
            (ReadEnd::Eof, WriteEnd::Drained, CloseKind::Eof) => ChainExit::End(LinkEnd::Eof),
            (ReadEnd::Stopped, WriteEnd::Drained, CloseKind::Eof) => ChainExit::Drained,
        }
    }

    /// The writer ended on its own: decide how the link ends.
    async fn finish(&mut self, written: WriteEnd) -> LinkEnd {
        if let Some(stop) = self.stop_reader.take() {
            let _ = stop.send(());
        }
        let read = match self.reader.take() {
            Some(mut reader) => {
                match tokio::time::timeout(Duration::from_millis(200), &mut reader).await {
                    Ok(read) => read.unwrap_or(ReadEnd::Failed),
                    Err(_) => {
                        reader.abort();
                        ReadEnd::Failed
                    }
                }
            }
            None => ReadEnd::Failed,
        };
        self.abort().await;
        match (self.signal.get(), written, read) {
            (kind @ (CloseKind::Abort | CloseKind::Reset), _, _) => LinkEnd::Closed(kind),
            (CloseKind::Eof, WriteEnd::Drained, ReadEnd::Eof) => LinkEnd::Eof,
            _ => LinkEnd::Failed,
        }
    }

    /// Stops every task of the chain and waits for them, so their socket handles are gone.
    async fn abort(&mut self) {
        if let Some(reader) = self.reader.take() {
            reader.abort();
            let _ = reader.await;
        }
        if let Some(writer) = self.writer.take() {
            writer.abort();
            let _ = writer.await;
        }
        for stub in self.stubs.iter_mut().chain(self.orphans.iter_mut()) {
            stub.abort().await;
        }
    }
}

/// A stub for `toxic` (or the noop), with fresh per-connection state and its toxicity roll.
fn new_stub(
    input: mpsc::Receiver<StreamChunk>,
    output: mpsc::Sender<StreamChunk>,
    toxic: Option<&Toxic>,
    signal: &Arc<CloseSignal>,
) -> ToxicStub {
    let mut stub = ToxicStub::new(input, output, signal.clone());
    if let Some(toxic) = toxic {
        stub.state = toxic.kind.new_state();
        stub.enabled = roll(toxic.toxicity);
    }
    stub
}

/// The link's side of a running stub.
struct StubHandle {
    /// `None` for the noop.
    toxic: Option<Arc<Toxic>>,
    interrupt: Option<mpsc::Sender<()>>,
    task: Option<JoinHandle<Option<ToxicStub>>>,
}

impl StubHandle {
    fn spawn(mut stub: ToxicStub, toxic: Option<Arc<Toxic>>) -> Self {
        let interrupt = stub.arm_interrupt();
        let task = tokio::spawn(run_stub(stub, toxic.clone()));
        Self {
            toxic,
            interrupt: Some(interrupt),
            task: Some(task),
        }
    }

    /// A place in the chain whose stub has already closed.
    fn closed(toxic: Option<Arc<Toxic>>) -> Self {
        Self {
            toxic,
            interrupt: None,
            task: None,
        }
    }

    fn name(&self) -> Option<&str> {
        self.toxic.as_ref().map(|t| t.name.as_str())
    }

    /// Runs the stub again (with this handle's toxic).
    fn respawn(&mut self, stub: ToxicStub) {
        *self = Self::spawn(stub, self.toxic.clone());
    }

    /// Stops the pipe and takes the stub back; `None` if it had closed.
    async fn interrupt(&mut self) -> Option<ToxicStub> {
        let task = self.task.take()?;
        if let Some(interrupt) = self.interrupt.take() {
            // Capacity 1 and a fresh channel per run: this cannot be full.
            let _ = interrupt.try_send(());
        }
        task.await.ok().flatten()
    }

    async fn abort(&mut self) {
        self.interrupt = None;
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

/// Reads the source into timestamped chunks, reserving room in the chain before each read so it
/// never holds data it cannot pass on (and so stopping it loses nothing).
async fn read_loop(
    src: Arc<TcpStream>,
    tx: mpsc::Sender<StreamChunk>,
    mut stop: oneshot::Receiver<()>,
) -> ReadEnd {
    let mut buf = BytesMut::new();
    loop {
        let permit = tokio::select! {
            biased;
            _ = &mut stop => return ReadEnd::Stopped,
            permit = tx.reserve() => match permit {
                Ok(permit) => permit,
                Err(_) => return ReadEnd::Stopped,
            },
        };
        loop {
            tokio::select! {
                biased;
                _ = &mut stop => return ReadEnd::Stopped,
                ready = src.readable() => if ready.is_err() {
                    return ReadEnd::Failed;
                },
            }
            if buf.capacity() - buf.len() < CHUNK / 4 {
                buf.reserve(CHUNK);
            }
            match src.try_read_buf(&mut buf) {
                Ok(0) => return ReadEnd::Eof,
                Ok(_) => {
                    permit.send(StreamChunk {
                        data: buf.split().freeze(),
                        timestamp: Instant::now(),
                    });
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => return ReadEnd::Failed,
            }
        }
    }
}

/// Reads what is there. A short read means the socket's queue was empty at that instant, so
/// readiness is cleared right away: the next wait goes to the reactor instead of costing one
/// more `recv` that would only say `EAGAIN` (one syscall in six on a request/response stream).
/// tokio ignores the clear if a new readiness event arrived meanwhile, so no wakeup is lost.
fn read_draining(src: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    let mut read = None;
    let outcome = src.try_io(tokio::io::Interest::READABLE, || {
        let n = src.try_read(buf)?;
        read = Some(n);
        if n > 0 && n < buf.len() {
            // Report "would block" to clear readiness; the bytes are in `read`.
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(n)
    });
    match (outcome, read) {
        (Ok(n), _) | (Err(_), Some(n)) => Ok(n),
        (Err(e), None) => Err(e),
    }
}

/// Writes the chain's output to the destination until the chain closes.
async fn write_loop(
    dst: Arc<TcpStream>,
    mut rx: mpsc::Receiver<StreamChunk>,
    cancel: CancellationToken,
) -> WriteEnd {
    while let Some(chunk) = rx.recv().await {
        if write_all(&dst, &chunk.data, &cancel).await.is_err() {
            return WriteEnd::Failed;
        }
    }
    WriteEnd::Drained
}

/// Writes all of `data`, trying synchronously first; waits for writability only when the
/// socket buffer is full (and then also for cancellation).
async fn write_all(
    dst: &TcpStream,
    mut data: &[u8],
    cancel: &CancellationToken,
) -> Result<(), LinkEnd> {
    while !data.is_empty() {
        match dst.try_write(data) {
            Ok(0) => return Err(LinkEnd::Failed),
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                tokio::select! {
                    biased;
                    () = cancel.cancelled() => return Err(LinkEnd::Cancelled),
                    ready = dst.writable() => ready.map_err(|_| LinkEnd::Failed)?,
                }
            }
            Err(_) => return Err(LinkEnd::Failed),
        }
    }
    Ok(())
}

/// Sends FIN after the data already written (errors mean the socket is gone anyway).
fn shutdown_write(socket: &TcpStream) {
    let _ = socket2::SockRef::from(socket).shutdown(Shutdown::Write);
}

/// Reads and discards until the peer closes (or fails).
async fn discard_until_eof(socket: &TcpStream) {
    let mut buf = [0u8; 4096];
    loop {
        if socket.readable().await.is_err() {
            return;
        }
        match socket.try_read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toxics::{Latency, Slicer};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// The proxy's end of a fresh loopback connection, and the peer's end.
    async fn socket_pair() -> (Arc<TcpStream>, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let peer = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (ours, _) = listener.accept().await.unwrap();
        (Arc::new(ours), peer)
    }

    fn names(chain: &Chain) -> Vec<Option<&str>> {
        chain.stubs.iter().map(StubHandle::name).collect()
    }

    fn add(toxic: &Arc<Toxic>) -> LinkCommand {
        LinkCommand::Add {
            toxic: toxic.clone(),
            done: oneshot::channel().0,
        }
    }

    fn remove(name: &str) -> LinkCommand {
        LinkCommand::Remove {
            name: name.to_owned(),
            done: oneshot::channel().0,
        }
    }

    #[tokio::test]
    async fn a_bare_chain_splices_stubs_in_and_out_and_drains_back_to_pass_through() {
        let (src, mut client) = socket_pair().await;
        let (dst, mut server) = socket_pair().await;
        let cancel = CancellationToken::new();
        // The link keeps its own handles on the sockets; so does the test.
        let mut chain = Chain::start(
            src.clone(),
            dst.clone(),
            Vec::new(),
            Arc::default(),
            cancel.clone(),
        );
        assert_eq!(names(&chain), [None]);

        let latency = Arc::new(Toxic::new(Latency {
            latency: 400,
            jitter: 0,
        }));
        let slicer = Arc::new(Toxic::new(Slicer {
            average_size: 2,
            size_variation: 0,
            delay: 0,
        }));
        chain.apply(add(&latency)).await;
        chain.apply(add(&slicer)).await;
        assert_eq!(
            names(&chain),
            [None, Some("latency_downstream"), Some("slicer_downstream")]
        );

        // The latency stub holds the chunk; removing it forwards the chunk at once.
        client.write_all(b"hello").await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let removed_at = Instant::now();
        chain.apply(remove("latency_downstream")).await;
        assert_eq!(names(&chain), [None, Some("slicer_downstream")]);
        let mut got = [0u8; 5];
        server.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"hello");
        assert!(
            removed_at.elapsed() < Duration::from_millis(300),
            "held data must not wait out the latency"
        );

        chain.apply(remove("slicer_downstream")).await;
        assert!(chain.is_bare());
        assert!(matches!(chain.drain(&cancel).await, ChainExit::Drained));
        // Nothing was read that was not delivered: later bytes wait in the socket.
        client.write_all(b"later").await.unwrap();
        let pending = tokio::time::timeout(Duration::from_millis(100), server.read(&mut got)).await;
        assert!(pending.is_err(), "a drained chain reads nothing more");
    }

    #[tokio::test]
    async fn a_chain_ends_with_eof_when_its_source_closes() {
        let (src, client) = socket_pair().await;
        let (dst, mut server) = socket_pair().await;
        let cancel = CancellationToken::new();
        let toxic = Arc::new(Toxic::new(Latency {
            latency: 10,
            jitter: 0,
        }));
        let mut chain = Chain::start(src, dst.clone(), vec![toxic], Arc::default(), cancel);
        drop(client);
        let written = chain.writer_done().await;
        assert_eq!(chain.finish(written).await, LinkEnd::Eof);
        shutdown_write(&dst);
        let mut rest = Vec::new();
        server.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
    }
}
