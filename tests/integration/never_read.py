"""never_read.py -- opens N connections to 127.0.0.1:PORT, each with a 4 KiB receive buffer, sends one request on
each (the HTTP request head given as the third argument, with \\r\\n escapes) and never reads; prints "open" once
they are all sent, and closes them all when its standard input closes. Used by routes.test.mjs: a node socket
cannot shrink its receive buffer, and the kernel would otherwise take megabytes of each answer off the server."""
import socket
import sys

port, count, head = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].encode().decode('unicode_escape').encode()
socks = []
for _ in range(count):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(('127.0.0.1', port))
    s.sendall(head)
    socks.append(s)
print('open', flush=True)
sys.stdin.read()
for s in socks:
    s.close()
