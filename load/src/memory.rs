//! Process memory and CPU time, and the open-file limit thousands of sockets need.

use std::time::Duration;

/// Clock ticks per second of `/proc/PID/stat`'s CPU times: the kernel reports them in
/// `USER_HZ`, which is 100 on every Linux architecture this runs on (`sysconf(_SC_CLK_TCK)`
/// would need `libc` for a constant).
const TICKS_PER_SECOND: u64 = 100;

/// Resident memory of process `pid`, in bytes (`VmRSS` of /proc/PID/status).
pub fn resident_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// CPU time process `pid` has used so far, user and system together (`utime` + `stime`
/// of /proc/PID/stat; its threads included, its children not).
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces or parentheses:
    // the fields after the last `)` start with field 3, the state.
    let (_, after_name) = stat.rsplit_once(')')?;
    let mut fields = after_name.split_whitespace();
    // utime and stime are fields 14 and 15: 11 and 12 after the state.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    let ticks = utime + stime;
    Some(Duration::from_millis(ticks * 1000 / TICKS_PER_SECOND))
}

/// Raises this process's soft open-file limit to its hard limit: every simulated client
/// holds a socket.
pub fn raise_open_file_limit() {
    if let Ok((_soft, hard)) = rlimit::Resource::NOFILE.get() {
        let _ = rlimit::Resource::NOFILE.set(hard, hard);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_resident_memory_of_this_process() {
        let bytes = resident_bytes(std::process::id()).expect("this process has a status file");
        assert!(
            bytes > 1024 * 1024,
            "a running test binary uses more than 1 MiB: {bytes}"
        );
        assert_eq!(resident_bytes(u32::MAX), None);
    }

    #[test]
    fn cpu_time_of_this_process_grows_with_work() {
        let before = cpu_time(std::process::id()).expect("this process has a stat file");
        // Spin until the kernel has charged at least two ticks more (a wrong field would
        // never grow: give up after 10 s of wall time).
        let started = std::time::Instant::now();
        let mut spins = 0_u64;
        let mut now = before;
        while now < before + Duration::from_millis(20) && started.elapsed().as_secs() < 10 {
            spins = std::hint::black_box(spins.wrapping_add(1));
            now = cpu_time(std::process::id()).unwrap();
        }
        assert!(
            now >= before + Duration::from_millis(20),
            "{before:?} → {now:?}"
        );
        assert_eq!(cpu_time(u32::MAX), None);
    }
}
