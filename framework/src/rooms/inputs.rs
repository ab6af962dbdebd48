//! The inputs members send between two ticks, bounded: a member flooding
//! inputs fills the queue and is refused, it never grows memory.

use std::collections::VecDeque;

use crate::id::SessionId;

/// One queued input and the member that sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input<I> {
    /// The member's session.
    pub from: SessionId,
    /// What it sent.
    pub input: I,
}

/// A bounded FIFO of inputs, taken whole by each tick.
#[derive(Debug)]
pub(super) struct InputQueue<I> {
    queue: VecDeque<Input<I>>,
    capacity: usize,
}

impl<I> InputQueue<I> {
    pub(super) fn new(capacity: usize) -> Self {
        // Allocated as inputs arrive, not up front: most rooms queue few.
        InputQueue { queue: VecDeque::new(), capacity }
    }

    /// Queues `input`; gives it back when the queue is full.
    pub(super) fn push(&mut self, input: Input<I>) -> Result<(), Input<I>> {
        if self.queue.len() >= self.capacity {
            return Err(input);
        }
        self.queue.push_back(input);
        Ok(())
    }

    /// Everything queued, oldest first, leaving the queue empty.
    pub(super) fn take(&mut self) -> Vec<Input<I>> {
        self.queue.drain(..).collect()
    }

    /// Drops the inputs of one member (it left: its inputs are void).
    pub(super) fn forget(&mut self, from: &SessionId) {
        self.queue.retain(|i| &i.from != from);
    }

    pub(super) fn len(&self) -> usize {
        self.queue.len()
    }

    pub(super) fn capacity(&self) -> usize {
        self.capacity
    }

    pub(super) fn clear(&mut self) {
        self.queue = VecDeque::new();
    }
}
