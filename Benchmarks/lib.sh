# Helpers shared by the benchmark scripts (sourced, not run).

# Stops the script if anything listens on one of the given 127.0.0.1 ports:
# a benchmark never touches a process it did not start.
require_free_ports() {
    local port
    for port in "$@"; do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "port $port on 127.0.0.1 is in use; stop what listens there and run again" >&2
            exit 1
        fi
    done
}
