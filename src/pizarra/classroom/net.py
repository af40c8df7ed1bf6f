"""Where students find the class: this machine's addresses on the local network, and a QR code.

    lan_addresses()           IPv4 addresses of every interface that is up, loopback excluded
    student_urls(host, port)  the addresses students open (every LAN address when bound to 0.0.0.0)
    qr_svg(text)              an inline SVG QR code (the teacher's page)
    qr_terminal(text)         the same QR code drawn with block characters (the terminal)

Nothing is sent anywhere: the addresses come from the kernel (``SIOCGIFADDR`` per interface), with
the routing trick (a UDP socket "connected" to a private address, no packet leaves) as a fallback.
"""

from __future__ import annotations

import fcntl
import io
import ipaddress
import socket
import struct

SIOCGIFADDR = 0x8915


def _interface_address(name: str) -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            packed = fcntl.ioctl(s.fileno(), SIOCGIFADDR, struct.pack("256s", name[:15].encode()))
        except OSError:
            return None
    return socket.inet_ntoa(packed[20:24])


def lan_addresses() -> list[str]:
    """Private and link-local IPv4 addresses first, then the others; never loopback."""
    found: list[str] = []
    try:
        names = [name for _, name in socket.if_nameindex()]
    except OSError:
        names = []
    for name in names:
        addr = _interface_address(name)
        if addr and addr not in found:
            found.append(addr)
    if not found:  # no ioctl (not Linux): ask the routing table which address would be used
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.connect(("10.255.255.255", 1))
                found.append(s.getsockname()[0])
            except OSError:
                pass
    addrs = [a for a in found if not ipaddress.IPv4Address(a).is_loopback and a != "0.0.0.0"]
    return sorted(addrs, key=lambda a: (not ipaddress.IPv4Address(a).is_private, a))


def student_urls(host: str, port: int) -> list[str]:
    """The join page's address for each way a student's device can reach this server."""
    if host in ("0.0.0.0", "::", ""):
        hosts = lan_addresses() or ["127.0.0.1"]
    else:
        hosts = [host]
    return [f"http://{f'[{h}]' if ':' in h else h}:{port}/unirse" for h in hosts]


def qr_svg(text: str, scale: int = 5) -> str:
    import segno

    return segno.make(text, error="m").svg_inline(
        scale=scale, dark="#111", light="#fff", title="QR", svgclass="qr", lineclass=None
    )


def qr_terminal(text: str) -> str:
    import segno

    buffer = io.StringIO()
    segno.make(text, error="m").terminal(out=buffer, compact=True)
    return buffer.getvalue()
