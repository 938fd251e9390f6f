// test/drivers/socket_proxy.js SOCKET: forwards TCP connections on
// 127.0.0.1 (a free port, printed on stdout) to the Unix socket SOCKET.
// pgJDBC speaks only TCP; test/drivers/run.sh starts this when the cluster
// it runs in listens on a Unix socket only (PGHOST is a directory), so that
// JdbcTest reaches the same server the other drivers do.  Plain Node, no
// packages.
'use strict';
const net = require('net');

const server = net.createServer((client) => {
    const upstream = net.connect(process.argv[2]);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
