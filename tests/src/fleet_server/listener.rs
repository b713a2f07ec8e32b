//! The listening socket: bound with `socket2` so that its accept backlog is deep enough for a
//! fleet's cold start, and so that a restart can bind the same port again at once.

use std::io;
use std::net::SocketAddr;

use socket2::{Domain, Protocol, Socket, Type};

/// The accept backlog asked of the kernel. Linux caps it at `net.core.somaxconn` (4096 on
/// current kernels), so a fleet of thousands of sessions dialling at once waits in the queue
/// instead of being dropped and retried, as it was with the default of 128.
pub const BACKLOG: i32 = 4096;

/// A non-blocking listener on `addr` with [`BACKLOG`] and `SO_REUSEADDR` (a restart binds the
/// port again while the old connections are still in `TIME_WAIT`).
pub(super) fn bind(addr: SocketAddr) -> io::Result<mio::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(mio::net::TcpListener::from_std(socket.into()))
}
