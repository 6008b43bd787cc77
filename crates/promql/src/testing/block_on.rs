//! A minimal executor: runs one future to completion on the calling thread, parking the
//! thread while the future is pending. Enough for the engine over [`super::MemStorage`]
//! (which never waits), without tying tests to an async runtime.

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

/// Wakes the thread that is blocked on the future.
struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs `future` to completion on the current thread and returns its output.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    let mut context = Context::from_waker(&waker);
    loop {
        match future.as_mut().poll(&mut context) {
            Poll::Ready(output) => return output,
            Poll::Pending => thread::park(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_ready_and_yielding_futures() {
        assert_eq!(block_on(async { 41 + 1 }), 42);
        let handle = thread::spawn(|| {
            let (sender, receiver) = std::sync::mpsc::channel::<u8>();
            let worker = thread::spawn(move || sender.send(7));
            let value = block_on(async move {
                // A future that is pending until another thread wakes it.
                std::future::poll_fn(|context| match receiver.try_recv() {
                    Ok(value) => Poll::Ready(value),
                    Err(_) => {
                        context.waker().wake_by_ref();
                        Poll::Pending
                    }
                })
                .await
            });
            let _ = worker.join();
            value
        });
        assert_eq!(handle.join().unwrap(), 7);
    }
}
