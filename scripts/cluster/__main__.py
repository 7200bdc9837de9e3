"""`make cluster`: the whole system as replicas on this machine, with the demo data; Ctrl-C stops all of it.

    python -m scripts.cluster [--root .local/cluster] [--offset N] [-- COMMAND ...]

With a COMMAND, the cluster starts, the command runs against it (told where by CLUSTER_GATEWAY_URL and the
other CLUSTER_* variables), and the cluster stops: its exit status is the command's (`make cluster-e2e`).
Missing Debian packages (haproxy, rabbitmq-server, postgresql) are installed first when we are root.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from scripts.cluster.system import Cluster
from scripts.local_infra import install

PACKAGES = {"haproxy": Path("/usr/sbin/haproxy"), "rabbitmq-server": Path("/usr/lib/rabbitmq/bin/rabbitmq-server"),
            "postgresql": Path("/usr/lib/postgresql")}


def install_missing() -> None:
    missing = [package for package, marker in PACKAGES.items() if not marker.exists()]
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        sys.exit(f"cluster: missing {', '.join(missing)}; run `sudo apt-get install -y {' '.join(missing)}`")
    print(f"cluster: installing {', '.join(missing)}", flush=True)
    if not install(*missing):
        sys.exit(f"cluster: apt-get could not install {', '.join(missing)}")
    # Debian starts the packaged servers on their usual ports; the cluster needs none of them running.


def cluster_variables(cluster: Cluster) -> dict[str, str]:
    layout = cluster.layout
    return {
        "CLUSTER_GATEWAY_URL": cluster.gateway_url,
        "CLUSTER_BROKER_URL": cluster.admin_broker_url,
        "CLUSTER_EXCHANGE_NAME": cluster.env.get("EXCHANGE_NAME", "sms-credits"),
        "CLUSTER_POSTGRES_URL": f"postgresql://postgres@127.0.0.1:{layout.postgres_primary_port}",
        "CLUSTER_ROOT": str(layout.root),
        "CLUSTER_GATEWAY_REPLICAS": ",".join(f"http://127.0.0.1:{r.port}" for r in layout.replicas_of("gateway")),
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.cluster")
    parser.add_argument("--root", type=Path, default=Path(".local/cluster"))
    parser.add_argument("--offset", type=int, default=int(os.environ.get("CLUSTER_PORT_OFFSET", "0")))
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    install_missing()
    cluster = Cluster.create(args.root, os.environ, args.offset)

    def stop_on_signal(signum: int, _: FrameType | None) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, stop_on_signal)
    try:
        cluster.start()
        if command:
            print(f"cluster: running {' '.join(command)}", flush=True)
            return subprocess.run(command, env={**os.environ, **cluster_variables(cluster)}, check=False).returncode  # noqa: S603
        print(f"cluster: {cluster.describe()}\ncluster: Ctrl-C stops all of it", flush=True)
        while True:
            for name in cluster.replicas.restart_exited():
                print(f"cluster: {name} exited; started again", flush=True)
            time.sleep(1)
    except KeyboardInterrupt:
        return 0
    finally:
        print("cluster: stopping", flush=True)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not leave half of it running
        cluster.stop()
        print("cluster: stopped", flush=True)


if __name__ == "__main__":
    sys.exit(main())
