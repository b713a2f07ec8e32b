//! The bounded queue that carries commands from a session's handles to its task.
//!
//! A channel crate would do, but the bounded ones allocate every slot up front: at the default
//! capacity of 1,024 commands that is 80 KiB per session, resident from the start, for a queue
//! that is empty nearly all the time. This one grows only as commands wait, under one lock that
//! also makes the bound exact. It knows when the last sender is gone (the session is then
//! orphaned and closes) and lets a sender wait for the task to end (what `close` resolves on).

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use reconnect_core::Command;

struct Shared {
    commands: VecDeque<Command>,
    capacity: usize,
    /// Payload bytes of the queued sends, and their bound.
    bytes: usize,
    max_bytes: usize,
    /// The task, waiting for a command.
    receiver: Option<Waker>,
    /// Senders waiting for room or for the task's end; all are woken when either comes.
    waiting: Vec<Waker>,
    /// Live senders: every handle and the stream's keepalive.
    senders: usize,
    /// The session has stopped: no command is taken any more (the handles are `Gone`).
    closed: bool,
    /// The task has ended.
    ended: bool,
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    // Nothing panics while holding the lock, but a poisoned queue is still a valid queue.
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The payload bytes `command` adds to the queue.
fn payload_len(command: &Command) -> usize {
    match command {
        Command::Send(frame, _) => frame.len(),
        _ => 0,
    }
}

impl Shared {
    /// Whether a command of `len` payload bytes fits: under both bounds, and any payload at all
    /// while none waits (so a frame larger than the byte bound still passes, alone).
    fn has_room(&self, len: usize) -> bool {
        self.commands.len() < self.capacity
            && (len == 0 || self.bytes == 0 || self.bytes.saturating_add(len) <= self.max_bytes)
    }
}

fn wait_here(waiting: &mut Vec<Waker>, cx: &Context<'_>) {
    if !waiting.iter().any(|w| w.will_wake(cx.waker())) {
        waiting.push(cx.waker().clone());
    }
}

/// A new mailbox for `capacity` (at least 1) commands and `max_bytes` payload bytes: the
/// handles' end and the task's end.
pub(crate) fn mailbox(capacity: usize, max_bytes: usize) -> (CommandSender, CommandReceiver) {
    let shared = Arc::new(Mutex::new(Shared {
        commands: VecDeque::new(),
        capacity: capacity.max(1),
        bytes: 0,
        max_bytes,
        receiver: None,
        waiting: Vec::new(),
        senders: 1,
        closed: false,
        ended: false,
    }));
    (
        CommandSender {
            shared: shared.clone(),
        },
        CommandReceiver { shared },
    )
}

/// Why [`CommandSender::try_send`] did not queue a command; the command is handed back.
pub(crate) enum TrySendError {
    /// The queue is at its capacity in commands or in bytes.
    Full(Command),
    /// The session has stopped, or the task has ended.
    Ended(Command),
}

/// The handles' end; every clone counts as a sender.
pub(crate) struct CommandSender {
    shared: Arc<Mutex<Shared>>,
}

impl Clone for CommandSender {
    fn clone(&self) -> Self {
        lock(&self.shared).senders += 1;
        CommandSender {
            shared: self.shared.clone(),
        }
    }
}

impl Drop for CommandSender {
    fn drop(&mut self) {
        let receiver = {
            let mut shared = lock(&self.shared);
            shared.senders -= 1;
            if shared.senders > 0 {
                return;
            }
            shared.receiver.take()
        };
        // The last sender: the task learns that the session is orphaned.
        if let Some(receiver) = receiver {
            receiver.wake();
        }
    }
}

impl CommandSender {
    /// Queues `command` unless the queue is full or the task has ended.
    pub(crate) fn try_send(&self, command: Command) -> Result<(), TrySendError> {
        let mut shared = lock(&self.shared);
        if shared.closed || shared.ended {
            return Err(TrySendError::Ended(command));
        }
        let len = payload_len(&command);
        if !shared.has_room(len) {
            return Err(TrySendError::Full(command));
        }
        shared.bytes += len;
        shared.commands.push_back(command);
        let receiver = shared.receiver.take();
        drop(shared);
        if let Some(receiver) = receiver {
            receiver.wake();
        }
        Ok(())
    }

    /// Queues `command`, waiting while the queue is full; hands it back if the task has ended.
    pub(crate) async fn send(&self, command: Command) -> Result<(), Command> {
        let mut command = Some(command);
        poll_fn(|cx| {
            let Some(next) = command.take() else {
                return Poll::Ready(Ok(()));
            };
            match self.try_send(next) {
                Ok(()) => Poll::Ready(Ok(())),
                Err(TrySendError::Ended(next)) => Poll::Ready(Err(next)),
                Err(TrySendError::Full(next)) => {
                    let mut shared = lock(&self.shared);
                    // Room may have come between the two locks.
                    if shared.has_room(payload_len(&next)) || shared.closed || shared.ended {
                        drop(shared);
                        command = Some(next);
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
                    wait_here(&mut shared.waiting, cx);
                    command = Some(next);
                    Poll::Pending
                }
            }
        })
        .await
    }

    /// Resolves once the task has ended.
    pub(crate) async fn ended(&self) {
        poll_fn(|cx| {
            let mut shared = lock(&self.shared);
            if shared.ended {
                return Poll::Ready(());
            }
            wait_here(&mut shared.waiting, cx);
            Poll::Pending
        })
        .await
    }

    /// Whether the mailbox takes no more commands: the session stopped, or the task ended.
    pub(crate) fn is_closed(&self) -> bool {
        let shared = lock(&self.shared);
        shared.closed || shared.ended
    }

    /// Commands waiting for the task.
    pub(crate) fn len(&self) -> usize {
        lock(&self.shared).commands.len()
    }
}

/// The task's end. Dropping it (the task ended) fails later sends and wakes every waiter.
pub(crate) struct CommandReceiver {
    shared: Arc<Mutex<Shared>>,
}

impl CommandReceiver {
    /// The next command; `Ready(None)` once every sender is gone and the queue is empty.
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Command>> {
        let (command, waiting) = {
            let mut shared = lock(&self.shared);
            match shared.commands.pop_front() {
                Some(command) => {
                    shared.bytes -= payload_len(&command);
                    (command, std::mem::take(&mut shared.waiting))
                }
                None if shared.senders == 0 => return Poll::Ready(None),
                None => {
                    match &mut shared.receiver {
                        Some(waker) if waker.will_wake(cx.waker()) => {}
                        slot => *slot = Some(cx.waker().clone()),
                    }
                    return Poll::Pending;
                }
            }
        };
        // There is room now for whoever waited for it.
        waiting.into_iter().for_each(Waker::wake);
        Poll::Ready(Some(command))
    }
}

impl CommandReceiver {
    /// The session has stopped: from now on every send fails as ended, and the commands that
    /// were already queued are handed back, in order, for the session to answer (it refuses
    /// each, and the refusals reach the stream).
    pub(crate) fn close(&mut self) -> VecDeque<Command> {
        let (commands, waiting) = {
            let mut shared = lock(&self.shared);
            shared.closed = true;
            shared.bytes = 0;
            (
                std::mem::take(&mut shared.commands),
                std::mem::take(&mut shared.waiting),
            )
        };
        // Senders waiting for room learn that none will come.
        waiting.into_iter().for_each(Waker::wake);
        commands
    }
}

impl Drop for CommandReceiver {
    fn drop(&mut self) {
        let (commands, waiting) = {
            let mut shared = lock(&self.shared);
            shared.ended = true;
            shared.bytes = 0;
            (
                std::mem::take(&mut shared.commands),
                std::mem::take(&mut shared.waiting),
            )
        };
        // Outside the lock: dropping a command runs no code of ours, but it need not be here.
        drop(commands);
        waiting.into_iter().for_each(Waker::wake);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_waker::Counter;
    use std::future::Future;
    use std::sync::atomic::Ordering;

    #[test]
    fn the_bound_is_exact_and_a_waiting_sender_gets_in_once_there_is_room() {
        let (tx, mut rx) = mailbox(2, usize::MAX);
        assert!(tx.try_send(Command::Pause).is_ok());
        assert!(tx.try_send(Command::Resume).is_ok());
        assert!(matches!(
            tx.try_send(Command::Close),
            Err(TrySendError::Full(Command::Close))
        ));
        let counter = Arc::new(Counter::default());
        let waker = Waker::from(counter.clone());
        let mut cx = Context::from_waker(&waker);
        let mut send = Box::pin(tx.send(Command::Close));
        assert!(send.as_mut().poll(&mut cx).is_pending());
        assert!(matches!(
            rx.poll_recv(&mut cx),
            Poll::Ready(Some(Command::Pause))
        ));
        assert_eq!(counter.0.load(Ordering::SeqCst), 1, "the sender was woken");
        assert!(matches!(send.as_mut().poll(&mut cx), Poll::Ready(Ok(()))));
        assert_eq!(tx.len(), 2);
        assert!(matches!(
            rx.poll_recv(&mut cx),
            Poll::Ready(Some(Command::Resume))
        ));
        assert!(matches!(
            rx.poll_recv(&mut cx),
            Poll::Ready(Some(Command::Close))
        ));
        assert!(rx.poll_recv(&mut cx).is_pending());
    }

    #[test]
    fn the_last_sender_gone_ends_the_queue_after_its_commands() {
        let (tx, mut rx) = mailbox(4, usize::MAX);
        let other = tx.clone();
        tx.try_send(Command::Pause).ok().unwrap();
        drop(tx);
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        assert!(matches!(
            rx.poll_recv(&mut cx),
            Poll::Ready(Some(Command::Pause))
        ));
        assert!(rx.poll_recv(&mut cx).is_pending(), "a sender is left");
        drop(other);
        assert!(matches!(rx.poll_recv(&mut cx), Poll::Ready(None)));
    }

    #[test]
    fn an_ended_task_hands_commands_back_and_resolves_the_waiters() {
        let (tx, rx) = mailbox(1, usize::MAX);
        tx.try_send(Command::Pause).ok().unwrap();
        let counter = Arc::new(Counter::default());
        let waker = Waker::from(counter.clone());
        let mut cx = Context::from_waker(&waker);
        let mut ended = Box::pin(tx.ended());
        assert!(ended.as_mut().poll(&mut cx).is_pending());
        assert!(!tx.is_closed());
        drop(rx);
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
        assert!(ended.as_mut().poll(&mut cx).is_ready());
        assert!(tx.is_closed());
        assert_eq!(tx.len(), 0, "what waited was dropped with the task");
        assert!(matches!(
            tx.try_send(Command::Resume),
            Err(TrySendError::Ended(Command::Resume))
        ));
        let sent = futures_lite::future::block_on(tx.send(Command::Close));
        assert!(matches!(sent, Err(Command::Close)));
    }

    #[test]
    fn a_closed_mailbox_hands_back_what_waited_and_refuses_the_rest_before_the_task_ends() {
        let (tx, mut rx) = mailbox(4, usize::MAX);
        tx.try_send(Command::Pause).ok().unwrap();
        tx.try_send(Command::Resume).ok().unwrap();
        let counter = Arc::new(Counter::default());
        let waker = Waker::from(counter.clone());
        let mut cx = Context::from_waker(&waker);
        let mut ended = Box::pin(tx.ended());
        assert!(ended.as_mut().poll(&mut cx).is_pending());
        let left: Vec<Command> = rx.close().into_iter().collect();
        assert_eq!(
            left,
            [Command::Pause, Command::Resume],
            "in order, none lost"
        );
        assert!(tx.is_closed(), "the handles are Gone from here");
        assert!(matches!(
            tx.try_send(Command::Close),
            Err(TrySendError::Ended(Command::Close))
        ));
        // Closed is not ended: `closed()` waits for the task itself.
        assert!(ended.as_mut().poll(&mut cx).is_pending());
        drop(rx);
        assert!(ended.as_mut().poll(&mut cx).is_ready());
    }

    #[test]
    fn the_byte_bound_holds_and_hands_the_frame_back() {
        use reconnect_core::{Frame, SendOptions};
        let send = |n: usize| Command::Send(Frame::binary(vec![7; n]), SendOptions::default());
        let (tx, mut rx) = mailbox(100, 10_000);
        // Alone, a frame over the bound passes: it could never pass otherwise.
        assert!(tx.try_send(send(12_000)).is_ok());
        match tx.try_send(send(1)) {
            Err(TrySendError::Full(command)) => {
                assert_eq!(command.into_frame(), Some(Frame::binary(vec![7; 1])))
            }
            _ => panic!("a byte over the bound is refused"),
        }
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        assert!(matches!(rx.poll_recv(&mut cx), Poll::Ready(Some(_))));
        for _ in 0..4 {
            assert!(tx.try_send(send(2_500)).is_ok(), "4 x 2,500 = the bound");
        }
        match tx.try_send(send(1)) {
            Err(TrySendError::Full(command)) => {
                assert_eq!(command.into_frame(), Some(Frame::binary(vec![7; 1])))
            }
            _ => panic!("the bound holds"),
        }
        assert!(
            tx.try_send(Command::Pause).is_ok(),
            "commands without payload pass"
        );
        assert!(matches!(rx.poll_recv(&mut cx), Poll::Ready(Some(_))));
        assert!(tx.try_send(send(2_500)).is_ok(), "taking one made room");
        assert!(tx.try_send(send(1)).is_err());
    }
}
