// The manual text of each command: what `director help COMMAND` prints after the options
// and what `make install`'s man page says (both come from the commands' `discussion`). Kept
// here, apart from the option definitions, so each command's file stays about its options.

/// Builds a discussion with the sections of a man page: a description, then EXAMPLES and
/// EXIT STATUS (and any others), each a title line over indented lines.
enum Manual {
    /// `description`, then each section as `TITLE:` over its lines indented by two spaces.
    static func page(_ description: String, _ sections: [(title: String, lines: [String])]) -> String {
        var out = description
        for section in sections {
            out += "\n\n" + section.title + ":\n" + section.lines.map { "  " + $0 }.joined(separator: "\n")
        }
        return out
    }

    /// An EXAMPLES section: each command over its explanation.
    static func examples(_ pairs: [(String, String)]) -> (title: String, lines: [String]) {
        ("EXAMPLES", pairs.flatMap { ["$ " + $0.0, "    " + $0.1] })
    }

    /// The EXIT STATUS of a command that reads or changes children.
    static func exitStatus(_ one: String) -> (title: String, lines: [String]) {
        ("EXIT STATUS", ["0  success", "1  \(one)", "   (a one-line message on stderr)", "2  a usage error: an unknown option or command, a bad value"])
    }

    static let selecting = """
        Each ID is a child id (web/api/0), or a group or job that selects everything under it \
        on whole path segments (web takes web/api/0, not webx/...); `all` takes every child (a \
        group named all is reached as all/).
        """
}

extension Manual {
    static let ps = page(
        """
        Reads <state>/table directly (read-only), so it works while the daemon runs, after it \
        stopped and after it was killed; when no daemon holds the state directory's lock the \
        first line says so (`daemon not running (pid N, last seen TIME, 3m ago)`) and the rows \
        are its last view. PREFIX selects whole path segments: `web` lists the group web, \
        `web/api` every instance of the job api; `all` (or none) lists everything. Given-up \
        groups are listed under the table.
        """,
        [
            ("COLUMNS", [
                "ID         group/job/instance",
                "STATE      see STATES",
                "READY      yes once the process is ready (its job's ready:), no before;",
                "           `-` without a live process",
                "PID        the child's process, which leads its own process group;",
                "           `123 (gone)`: that process no longer exists (no daemon keeps the",
                "           row up to date)",
                "UPTIME     how long the current process has run",
                "CPU        percent of one core used by the child's processes: those of its",
                "           cgroup when the daemon gave it one, else of its process group;",
                "           the average since the process started, or with --watch the",
                "           share over the last interval (as top does)",
                "MEM        resident memory (RSS) summed over the same processes",
                "RESTARTS   restarts since the child was created or last restarted by hand",
                "LAST EXIT  how the previous process ended and how long ago",
                "STATUS     the child's last sd_notify STATUS= text, when a child has one",
                "--wide adds PGID, NEXT RESTART (backoff) and always STATUS.",
            ]),
            ("STATES", [
                "starting   spawned, not yet confirmed running",
                "running    its process runs",
                "stopping   asked to stop; waiting for the process to exit",
                "backoff    exited; a restart is scheduled (NEXT RESTART, next_restart_at)",
                "waiting    exited; stays until an operator starts it (a wait rule, a",
                "           transient child's exit 0, a spawn failure with a wait rule)",
                "stopped    not running and not scheduled (stop, shutdown, a group given up)",
            ]),
            ("LAST EXIT", [
                "code=N       the process exited with status N (127: it could not be started)",
                "signal=NAME  it was killed by SIGNAME (TERM, KILL, SEGV...)",
                "then why, unless a plain exit or signal (the table's last_exit.cause):",
                "(spawn_failed)   it could not be started (code=127)",
                "(ready_timeout)  not ready within ready.timeout: stopped by Director",
                "(unhealthy)      health.failures failed checks in a row: stopped",
                "(watchdog)       no WATCHDOG=1 within its watchdog interval: SIGABRT",
                "(oom)            the kernel's OOM killer killed a process in its cgroup",
                "then how long ago: `code=1 12s ago`, `signal=ABRT (watchdog) 3m4s ago`;",
                "`-` before the first exit.",
            ]),
            examples([
                ("director ps", "every child"),
                ("director ps web/api", "the instances of the job api of the group web"),
                ("director ps --only backoff,waiting", "the children that need a look"),
                ("director ps --sort cpu --wide", "the busiest first, with every column"),
                ("director ps --watch", "refresh every 2s until Ctrl-C (in place on a terminal)"),
                ("director ps --json | jq '.[].pid'", "the records as stored"),
            ]),
            exitStatus("no child matches PREFIX, or the table cannot be read"),
        ])

    static let events = page(
        """
        The table keeps the newest 10 000 events, each with a sequence number that is never \
        reused, not even across daemon restarts. Lines print as `SEQ TIME ID KIND DETAIL` (`-` \
        as the id of the daemon's own events). Each ID selects a child, or a group or job and \
        everything under it, on whole path segments (`web` takes web/api/0 and the group web's \
        own events, not webx); `all` or none takes everything. --since takes a sequence number \
        (events after it), a duration (10m: events of the last ten minutes) or an RFC 3339 \
        time. With --json each event is an object whose `detail` holds the detail's leading \
        key=value words as members (numbers as numbers; the rest under `text`) and \
        `detail_text` the stored text.
        """,
        [
            examples([
                ("director events -n 20", "the last twenty events"),
                ("director events web/api --kind exit,restart", "how the api instances ended and came back"),
                ("director events --since 10m -f", "the last ten minutes, then new ones until Ctrl-C"),
                ("director events --since 1200 --json", "every event after sequence number 1200, as JSON"),
            ]),
            exitStatus("an ID that matches no child, group or event, or the table cannot be read"),
        ])

    static let logs = page(
        """
        Reads <state>/logs/<id>.log and its rotated files (the job's log.file, on by default), \
        with or without a daemon. Each argument is a child id, a prefix of whole path segments \
        or `all` (the default). Lines print as `TIME ID STREAM: TEXT`, as the daemon prints \
        them, or as JSON objects with --json. With -f, new lines follow as they are written, \
        across rotations and daemon restarts, until interrupted (exit status 0).
        """,
        [
            examples([
                ("director logs web/api/1 -n 20", "a crashed child's last twenty lines"),
                ("director logs web --since 10m", "the group web's lines of the last ten minutes, merged by time"),
                ("director logs -f --stream stderr", "every child's stderr as it is written"),
            ]),
            exitStatus("a selection that matches no log file"),
        ])

    static let run = page(
        """
        Starts every group of the jobs directory in file-name order, supervises the children, \
        records their state in <state>/table and serves <state>/control.sock. SIGTERM or SIGINT \
        stops the tree in reverse order and exits 0 (a second SIGINT kills at once); SIGHUP \
        reloads the manifests; SIGUSR1 reopens the log files. A group that fails more often \
        than the root allows (--intensity/--period) is given up by default (--root-failure \
        give-up): its children stop, its state is failed, the other groups keep running, and \
        `director start GROUP` starts it again. With --root-failure exit the whole tree stops \
        and the exit status is 1. Under systemd (Type=notify) READY=1 is sent to \
        $NOTIFY_SOCKET once the tree has started.
        """,
        [
            examples([
                ("director run", "jobs/ and .director/ of the current directory"),
                ("director run --jobs /etc/director --state /var/lib/director", "as a service would"),
                ("director run --log-format json 2>daemon.jsonl", "the daemon's lines as JSON objects"),
            ]),
            ("EXIT STATUS", [
                "0  stopped by SIGTERM, SIGINT or `director shutdown`",
                "1  invalid manifests, a state directory in use or unsafe, or the root failed",
                "   under --root-failure exit (one line on stderr)",
                "2  a usage error",
            ]),
        ])

    static let validate = page(
        """
        Loads every *.yaml and *.yml file of the directory, in name order, exactly as `run` \
        and a reload would. Prints a one-line summary and exits 0 when the directory is valid; \
        otherwise prints every error as FILE:LINE:COL: key.path: message and exits 1. The \
        children of all jobs together may not exceed --max-children (default 100000, as for \
        `run`). Warnings (a command not found on the PATH) do not fail it unless --strict.
        """,
        [
            examples([
                ("director validate", "check jobs/"),
                ("director validate --jobs /etc/director --strict", "warnings fail too (for CI)"),
            ]),
            ("EXIT STATUS", ["0  valid (warnings allowed without --strict)", "1  errors, printed as FILE:LINE:COL: key.path: message", "2  a usage error"]),
        ])

    static let count = page(
        "Reads <state>/table directly: `specs` stored job specs, `active` running children, `supervisors` groups, `workers` children.",
        [examples([("director count", "as OTP's count_children")]), exitStatus("the table cannot be read")])

    static let spec = page(
        "ID is a child id (web/api/0) or a job (web/api). Prints the spec the table stores as YAML, or JSON with --json. Reads <state>/table directly.",
        [
            examples([("director spec web/api/0", "the spec web/api/0 runs under"), ("director spec web/api --json", "the same, as JSON")]),
            exitStatus("no such job in the table"),
        ])

    static let stop = page(
        selecting + """
         A stopped child stays stopped, across daemon restarts too, until `director start`, \
        `director restart` or a change of its job's manifest. An already stopped child is \
        named as such.
        """,
        [
            examples([("director stop web/api/1", "one child"), ("director stop web", "every child of the group web"), ("director stop all", "everything")]),
            exitStatus("nothing matches, or no daemon answers on <state>/control.sock"),
        ])

    static let start = page(
        selecting + """
         Stopped and waiting children start; running ones are left alone and named as such. \
        `director start GROUP` starts a group in state failed (given up by the root, see \
        `run --root-failure`) again, with a fresh restart window.
        """,
        [
            examples([("director start web/migrate/0", "run a waiting child again"), ("director start web", "a group given up, or its stopped children")]),
            exitStatus("nothing matches, or no daemon answers on <state>/control.sock"),
        ])

    static let restart = page(
        selecting + """
         Running children are stopped first (with their job's shutdown signal); waiting and \
        stopped ones start. With --rolling, the running instances of each job are replaced a \
        few at a time: a spare instance (numbered after the pool) starts and must be ready \
        before an old one stops, within the job's update.max_surge and update.max_unavailable \
        (1 and 0 by default), so a pool never drops below its size. The command returns once \
        the roll has begun; `director events` shows how it ends (roll_done, or roll_stopped \
        and why).
        """,
        [
            examples([
                ("director restart web/api", "every instance of api, all at once"),
                ("director restart --rolling web/api", "one at a time, each replacement ready first"),
                ("director events web/api -f --kind roll_done,roll_stopped", "how the roll ends"),
                ("director restart all", "everything"),
            ]),
            exitStatus("nothing matches, or no daemon answers on <state>/control.sock"),
        ])

    static let delete = page(
        selecting + " As in OTP, only a child that is not running can be deleted: stop it first.",
        [
            examples([("director delete web/api/3", "remove a stopped or waiting child from the table")]),
            exitStatus("nothing matches, a selected child still runs, or no daemon answers"),
        ])

    static let scale = page(
        """
        Scaling down stops the highest instance numbers first. The size holds across daemon \
        restarts until the job's manifest changes; a size that would take the tree past \
        `run --max-children` is refused.
        """,
        [
            examples([("director scale web/api 8", "eight instances, web/api/0 to web/api/7")]),
            exitStatus("no such job, a size over the limit, or no daemon answers"),
        ])

    static let reload = page(
        """
        The whole directory is validated first; on any error nothing changes, the errors are \
        printed as FILE:LINE:COL: key.path: message and the exit status is 1. Otherwise only \
        the difference is applied (SIGHUP and an edit of the directory do the same).
        """,
        [
            examples([("director reload", "apply jobs/ as it is now")]),
            exitStatus("invalid manifests (nothing changed), or no daemon answers"),
        ])

    static let shutdown = page(
        "Stops the tree in reverse order, as SIGTERM does, and returns once the daemon has exited, or fails after --wait seconds.",
        [
            examples([("director shutdown && echo every child is gone", "a script can rely on it")]),
            exitStatus("no daemon answers, or it did not exit within --wait"),
        ])
}
