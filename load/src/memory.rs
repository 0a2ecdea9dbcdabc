//! Process memory, and the open-file limit thousands of sockets need.

/// Resident memory of process `pid`, in bytes (`VmRSS` of /proc/PID/status).
pub fn resident_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
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
}
