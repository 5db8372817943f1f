#!/usr/bin/env python3
"""RSS per idle registered client: N plain TCP clients, then N WebSocket clients
(text.ircv3.net), each registered and left idle; the server's RSS is read from /proc
after each group. Usage: scripts/ws-memory.py [N] (default 3000); builds nothing: it runs
target/checked/portico (or $PORTICO) on loopback ports of its own and stops it."""
import base64, os, re, resource, socket, subprocess, sys, tempfile, time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
EXE = os.environ.get("PORTICO", "target/checked/portico")
PLAIN, WS = ("127.0.0.1", 26667), ("127.0.0.1", 28080)

def rss(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+) kB", f.read()).group(1)) * 1024

def read_until(s, needle):
    data = b""
    while needle not in data:
        chunk = s.recv(65536)
        if not chunk:
            raise RuntimeError(f"closed before {needle!r}: {data[-200:]!r}")
        data += chunk
    return data

def frame(text):
    # A masked text frame (clients must mask); lines here are short (< 126 bytes).
    payload, mask = text.encode(), os.urandom(4)
    return bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))

def plain_client(i):
    s = socket.create_connection(PLAIN)
    s.sendall(f"NICK p{i}\r\nUSER p{i} 0 * :p\r\n".encode())
    read_until(s, b" 376 ")
    return s

def ws_client(i):
    s = socket.create_connection(WS)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET / HTTP/1.1\r\nHost: {WS[0]}:{WS[1]}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
               "Sec-WebSocket-Protocol: text.ircv3.net\r\n\r\n").encode())
    read_until(s, b"\r\n\r\n")
    s.sendall(frame(f"NICK w{i}") + frame(f"USER w{i} 0 * :w"))
    read_until(s, b" 376 ")
    return s

def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4 * N + 100), hard))
    with tempfile.TemporaryDirectory() as d:
        conf = os.path.join(d, "portico.toml")
        with open(conf, "w") as f:
            f.write(f'[server]\nname = "irc.test"\nid = 1\nnetwork = "T"\nmotd = "m"\n\n'
                    f'[[listen]]\naddress = "{PLAIN[0]}:{PLAIN[1]}"\n\n'
                    f'[[listen]]\naddress = "{WS[0]}:{WS[1]}"\nwebsocket = true\n\n'
                    f'[limits]\nmax_clients = {3 * N}\nmax_clients_per_ip = 0\n')
        server = subprocess.Popen([EXE, "-c", conf], stderr=subprocess.PIPE)
        try:
            read_until_listening(server)
            base = rss(server.pid)
            plain = [plain_client(i) for i in range(N)]
            time.sleep(1)
            after_plain = rss(server.pid)
            ws = [ws_client(i) for i in range(N)]
            time.sleep(1)
            after_ws = rss(server.pid)
            print(f"{N} clients each: plain {(after_plain - base) / N:.0f} B, "
                  f"WebSocket {(after_ws - after_plain) / N:.0f} B RSS per idle registered client")
            for s in plain + ws:
                s.close()
        finally:
            server.terminate()
            server.wait()

def read_until_listening(server):
    seen = 0
    for line in server.stderr:
        seen += b"listening on" in line
        if seen == 2:
            return
    raise RuntimeError("server did not start")

main()
