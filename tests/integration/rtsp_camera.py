#!/usr/bin/python3
"""An IP camera for the tests and the benchmark: GStreamer's own RTSP server
(gir1.2-gst-rtsp-server-1.0) serving pre-encoded clips as they are, optionally behind
digest authentication.

    rtsp_camera.py --port 8554 [--address 0.0.0.0] [--user U --password P]
                   --mount /main '( filesrc ... ! rtph265pay name=pay0 ... )' [--mount ...]

Each mount is a launch description as gst-rtsp-server takes it (payloaders named
pay0, pay1, ...). Prints "ready" on stdout once it listens; runs until killed.
The clips are encoded once by the caller, so serving costs no encoder time.
"""
import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402


def serve(address, port, factories, auth=None):
    """Serves FACTORIES ({path: RTSPMediaFactory}) on ADDRESS:PORT (with AUTH, an
    RTSPAuth, if given); prints "ready" once it listens and runs until SIGTERM. Returns
    the exit status."""
    server = GstRtspServer.RTSPServer()
    server.set_address(address)
    server.set_service(str(port))
    if auth:
        server.set_auth(auth)
    mounts = server.get_mount_points()
    for path, f in factories.items():
        mounts.add_factory(path, f)
    if server.attach(None) == 0:
        print(f"cannot listen on {address}:{port}", file=sys.stderr)
        return 1
    loop = GLib.MainLoop()
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    print("ready", flush=True)
    loop.run()
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--address", default="127.0.0.1")
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("--mount", nargs=2, action="append", metavar=("PATH", "LAUNCH"),
                    required=True)
    a = ap.parse_args()
    Gst.init(None)
    auth = None
    if a.user:
        auth = GstRtspServer.RTSPAuth()
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
        token = GstRtspServer.RTSPToken()
        token.set_string("media.factory.role", "camera-user")
        auth.add_digest(a.user, a.password, token)
    factories = {}
    for path, launch in a.mount:
        f = GstRtspServer.RTSPMediaFactory()
        f.set_launch(launch)
        f.set_shared(True)
        if a.user:
            perm = GstRtspServer.RTSPPermissions()
            perm.add_permission_for_role("camera-user", "media.factory.access", True)
            perm.add_permission_for_role("camera-user", "media.factory.construct", True)
            f.set_permissions(perm)
        factories[path] = f
    return serve(a.address, a.port, factories, auth)


if __name__ == "__main__":
    sys.exit(main())
