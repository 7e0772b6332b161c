#!/bin/sh
# A PostgreSQL server of the tests' own, in a directory of theirs, on a Unix socket only.
#
#   private-postgres.sh start DIR OWNER_PID   initdb DIR/data, start the server (socket in DIR),
#                                             and stop it when process OWNER_PID is gone
#   private-postgres.sh start-tls DIR OWNER_PID
#                                             the same, and TCP on 127.0.0.1 at a random port
#                                             (DIR/port) with ssl=on: a self-signed certificate
#                                             for localhost and 127.0.0.1 (DIR/server.crt), and
#                                             a pg_hba.conf that takes TCP only over TLS
#                                             (hostssl), the socket as before
#   private-postgres.sh start-netns DIR OWNER_PID NETNS ADDRESS
#                                             the same, the server in network namespace NETNS
#                                             (`ip netns`), on TCP at ADDRESS:5432 there (any
#                                             client address trusted), the socket as before
#   private-postgres.sh stop DIR              stop the server of DIR/data, remove DIR
#   private-postgres.sh pause|resume DIR      stop the server keeping its data, start it again
#
# Why a script and not Foundation.Process: the test binary also runs supervisors in-process
# (a subreaper that reaps children it does not own, signalfds that take SIGCHLD), so a
# Process there may never learn that its child exited. The tests spawn this script with
# posix_spawn and wait for DIR/start.status, which this script writes last; no one needs to
# reap anything to know the outcome. The watcher makes "the tests leave no server running"
# true even when the test process is killed with -9.
#
# As root the server runs as `postgres` (PostgreSQL refuses root), through setpriv, which
# execs the command with no process of its own in between.
set -u
cmd=${1:?start|stop}
dir=${2:?directory}
bin=${PG_BIN:-}
if [ -z "$bin" ]; then
    if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
        bin=$(pg_config --bindir)
    else
        bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    fi
fi
# The server's network namespace, when it has one (start-netns writes DIR/netns).
in_netns=""
[ -f "$dir/netns" ] && in_netns="ip netns exec $(cat "$dir/netns")"
as_server() {
    if [ "$(id -u)" = 0 ]; then
        $in_netns setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"
    else
        $in_netns "$@"
    fi
}

case "$cmd" in
start|start-tls|start-netns)
    owner=${3:?owner pid}
    if [ "$cmd" = start-netns ]; then
        echo "${4:?netns}" >"$dir/netns"
        address=${5:?address}
        in_netns="ip netns exec $4"
    fi
    status=1
    {
        if [ -z "$bin" ] || [ ! -x "$bin/initdb" ] || [ ! -x "$bin/pg_ctl" ]; then
            echo "no PostgreSQL server binaries (initdb, pg_ctl); install postgresql"
        elif [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
            echo "running as root and there is no postgres user to run the server as"
        elif [ "$cmd" = start-tls ] && ! command -v openssl >/dev/null 2>&1; then
            echo "no openssl to make the server's certificate; install openssl"
        else
            [ "$(id -u)" = 0 ] && chown postgres: "$dir"
            chmod 0755 "$dir"
            opts="-k $dir -c listen_addresses= -p 5432 -F -c max_connections=200"
            if [ "$cmd" = start-netns ]; then
                opts="-k $dir -c listen_addresses=$address -p 5432 -F -c max_connections=200"
            fi
            as_server "$bin/initdb" -D "$dir/data" -A trust -U director --no-sync -E UTF8 >"$dir/initdb.log" 2>&1 && status=0
            if [ $status = 0 ] && [ "$cmd" = start-tls ]; then
                status=1
                openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=localhost" \
                    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
                    -keyout "$dir/server.key" -out "$dir/server.crt" >"$dir/openssl.log" 2>&1 && status=0
                chmod 0600 "$dir/server.key"
                [ "$(id -u)" = 0 ] && chown postgres: "$dir/server.key" "$dir/server.crt"
                # TCP only over TLS: a client with sslmode=disable is refused by the server.
                printf 'local all all trust\nhostssl all all 127.0.0.1/32 trust\n' >"$dir/data/pg_hba.conf"
            fi
            # Its own namespace is the network: any address there may connect.
            [ $status = 0 ] && [ "$cmd" = start-netns ] && printf 'local all all trust\nhost all all 0.0.0.0/0 trust\n' >"$dir/data/pg_hba.conf"
            if [ $status = 0 ]; then
                status=1
                # A random port; another one when it is taken (a few tries).
                for try in 1 2 3 4 5; do
                    if [ "$cmd" = start-tls ]; then
                        port=$(( $(od -An -N2 -tu2 /dev/urandom) % 30000 + 20000 ))
                        opts="-k $dir -c listen_addresses=127.0.0.1 -p $port -F -c max_connections=200 -c ssl=on -c ssl_cert_file=$dir/server.crt -c ssl_key_file=$dir/server.key"
                    fi
                    if as_server "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o "$opts" start >"$dir/pg_ctl.log" 2>&1; then
                        status=0
                        break
                    fi
                    [ "$cmd" = start-tls ] || break
                done
            fi
            echo "$opts" >"$dir/server.opts"
            [ "$cmd" = start-tls ] && [ $status = 0 ] && echo "$port" >"$dir/port"
            [ $status = 0 ] || { cat "$dir/initdb.log" "$dir/openssl.log" "$dir/pg_ctl.log" "$dir/server.log" 2>/dev/null | tail -n 20; }
        fi
    } >"$dir/start.out" 2>&1
    if [ $status = 0 ]; then
        # The watcher: detached (own session, no inherited descriptors), it stops the server
        # once the owner is gone. The owner's start time guards against a reused pid.
        started=$(cut -d' ' -f22 "/proc/$owner/stat" 2>/dev/null)
        PG_BIN="$bin" setsid sh -c '
            while [ "$(cut -d" " -f22 /proc/'"$owner"'/stat 2>/dev/null)" = "'"$started"'" ] && [ -d "'"$dir"'/data" ]; do sleep 1; done
            exec sh "'"$0"'" stop "'"$dir"'"' </dev/null >/dev/null 2>&1 &
    fi
    echo $status >"$dir/start.status.tmp" && mv "$dir/start.status.tmp" "$dir/start.status"
    exit $status
    ;;
stop)
    # A signal needs no network: stopping works even once the namespace is gone.
    in_netns=""
    if [ -f "$dir/data/postmaster.pid" ] && [ -n "$bin" ]; then
        as_server "$bin/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1
    fi
    case "$dir" in /tmp/director-pg-*) rm -rf "$dir" ;; esac
    ;;
pause)
    # Stop the server but keep its data (a test of PostgreSQL going away).
    as_server "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1
    ;;
resume)
    as_server "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o "$(cat "$dir/server.opts")" start >"$dir/pg_ctl.log" 2>&1
    ;;
*) echo "usage: $0 start|start-tls DIR OWNER_PID | start-netns DIR OWNER_PID NETNS ADDRESS | stop DIR | pause DIR | resume DIR" >&2; exit 2 ;;
esac
