//! The real binary as systemd sees it: sd_notify on a real unix datagram
//! socket (READY, RELOADING, STATUS, STOPPING, WATCHDOG), reload by SIGHUP,
//! and stopping by SIGTERM, also in the middle of a cycle.

mod common;

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use kameo_bot::sim::{Fault, FaultSpec};

use common::daemon::{Running, Setup, eventually, loan, scenario_sim};

#[tokio::test(flavor = "multi_thread")]
async fn reload_term_and_sd_notify() {
    let sim = scenario_sim(vec![loan(1, 10.0, "B", -60), loan(2, 11.0, "A", -60)]).await;
    let setup = Setup::new(&sim, "min_interest_rate = 15.0");
    let socket_path = setup.dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let recv = |socket: &UnixDatagram| {
        let mut buf = [0u8; 512];
        let n = socket.recv(&mut buf).expect("a notification");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };

    let mut daemon = Running::start(&setup, Some(&socket_path));
    assert_eq!(recv(&socket), "READY=1\n");
    assert!(
        daemon.wait_for("\"event\":\"cycle\"", Duration::from_secs(15)),
        "{}",
        daemon.dump()
    );
    assert!(recv(&socket).starts_with("STATUS=last cycle ok"));
    assert!(sim.accepted_bids().is_empty(), "15 % is above every loan");

    // A valid change: a lower minimum rate makes bids happen.
    setup.write_config("min_interest_rate = 8.0");
    daemon.signal("HUP");
    let reloading = recv(&socket);
    assert!(reloading.starts_with("RELOADING=1\nMONOTONIC_USEC="), "{reloading}");
    assert_eq!(recv(&socket), "READY=1\n");
    assert!(
        daemon.wait_for("\"event\":\"config_reloaded\"", Duration::from_secs(5)),
        "{}",
        daemon.dump()
    );
    assert!(
        daemon.dump().contains("strategy.min_interest_rate"),
        "the change is named"
    );
    assert!(
        eventually(Duration::from_secs(15), || sim.accepted_bids().len() == 2).await,
        "{}",
        daemon.dump()
    );

    // An invalid file: rejected, every problem listed, still running.
    std::fs::write(
        setup.config(),
        "[strategy]\nreserve_percentage = 1.5\nbid_amount = \"lots\"\n",
    )
    .unwrap();
    daemon.signal("HUP");
    assert!(
        daemon.wait_for("\"event\":\"config_rejected\"", Duration::from_secs(5)),
        "{}",
        daemon.dump()
    );
    assert!(daemon.dump().contains("strategy.bid_amount"), "{}", daemon.dump());
    assert_eq!(daemon.child.try_wait().unwrap(), None, "still running");

    // SIGTERM: STOPPING=1 and exit 0 within a few seconds.
    daemon.signal("TERM");
    let mut seen = Vec::new();
    while !seen.iter().any(|m: &String| m.starts_with("STOPPING=1")) {
        seen.push(recv(&socket));
    }
    assert_eq!(daemon.wait_exit(Duration::from_secs(5)), Some(0), "{}", daemon.dump());
    assert_eq!(daemon.count("\"event\":\"shutdown\""), 1);
    assert_eq!(sim.accepted_bids().len(), 2, "no bid came twice");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_during_a_cycle_exits_when_the_cycle_ends_not_a_poll_later() {
    let sim = scenario_sim(vec![loan(1, 6.0, "B", -60)]).await;
    let setup = Setup::new(&sim, "min_interest_rate = 8.0");
    let mut daemon = Running::start(&setup, None);
    assert!(
        daemon.wait_for("\"event\":\"cycle\"", Duration::from_secs(15)),
        "{}",
        daemon.dump()
    );
    // The next cycle's listing is handled, then its answer held back 2 s.
    sim.set_faults(FaultSpec::parse("slow_delay=2s").unwrap());
    sim.queue_fault("investment-options", Fault::Slow);
    assert!(
        eventually(Duration::from_secs(15), || sim
            .journal()
            .count("GET", "investment-options")
            >= 2)
        .await,
        "{}",
        daemon.dump()
    );
    let asked = Instant::now();
    daemon.signal("TERM");
    let code = daemon.wait_exit(Duration::from_secs(10));
    let took = asked.elapsed();
    assert_eq!(code, Some(0), "{}", daemon.dump());
    assert!(took < Duration::from_secs(4), "exit took {took:?} after SIGTERM");
    sim.shutdown().await;
}

/// How many WATCHDOG=1 arrive on `socket` within `window`.
fn watchdogs_within(socket: &UnixDatagram, window: Duration) -> usize {
    let deadline = Instant::now() + window;
    let mut n = 0;
    let mut buf = [0u8; 512];
    while Instant::now() < deadline {
        if let Ok(len) = socket.recv(&mut buf)
            && String::from_utf8_lossy(&buf[..len]).contains("WATCHDOG=1")
        {
            n += 1;
        }
    }
    n
}

#[tokio::test(flavor = "multi_thread")]
async fn the_watchdog_is_petted_only_while_cycles_succeed() {
    let sim = scenario_sim(vec![loan(1, 6.0, "B", -60)]).await;
    let setup = Setup::new(&sim, "min_interest_rate = 8.0");
    let socket_path = setup.dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    // Petted every second; three 5 s poll intervals make a cycle stale.
    let daemon = Running::start_with(&setup, Some(&socket_path), &[("WATCHDOG_USEC", "2000000")]);
    assert!(
        daemon.wait_for("\"event\":\"cycle\"", Duration::from_secs(15)),
        "{}",
        daemon.dump()
    );
    assert!(
        watchdogs_within(&socket, Duration::from_secs(3)) >= 2,
        "petted while healthy"
    );
    // Kameo breaks: every cycle from now on fails.
    sim.set_faults(FaultSpec::parse("5xx=1.0").unwrap());
    let quiet = tokio::task::spawn_blocking(move || {
        std::thread::sleep(Duration::from_secs(17));
        // Drop what queued up meanwhile (in the socket and behind it) until
        // the socket is quiet, then count what still comes.
        socket.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
        let mut buf = [0u8; 512];
        while socket.recv(&mut buf).is_ok() {}
        socket.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
        watchdogs_within(&socket, Duration::from_secs(4))
    })
    .await
    .unwrap();
    assert_eq!(
        quiet,
        0,
        "still petted with no good cycle for three poll intervals:\n{}",
        daemon.dump()
    );
    assert!(daemon.dump().contains("cycle failed"), "{}", daemon.dump());
    sim.shutdown().await;
}
