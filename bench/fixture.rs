//! What the socket-free core benchmarks (`fanout`, `allocs`) share: a configuration with
//! flood control and per-address limits out of the way, and a fixed clock.

use portico::core::Clock;

pub const CONFIG: &str =
    "[server]\nname = \"bench.portico\"\nid = 1\nnetwork = \"BenchNet\"\nmotd = \"bench\"\n\
    [limits]\nmax_clients_per_ip = 0\nflood_burst = 1000000\nflood_interval_ms = 1\n";

pub const CLOCK: Clock = Clock {
    mono_ms: 1_000_000,
    unix_ms: 1_700_000_000_000,
};
