// Minimal Socket.io 4 room-broadcast server: the Socket.io peer of
// `hearth bench` workload F. Every connection joins one room; a "msg"
// event is broadcast to the room, sender included (as Hearth echoes a
// message to its sender). Nothing is stored.
//
//   node server.js [--port 0] [--host 127.0.0.1]
//
// It prints one line `listening <port>` when ready, and exits on SIGINT or
// SIGTERM.
'use strict';

const http = require('http');
const { Server } = require('socket.io');

function arg(name, def) {
  const i = process.argv.indexOf('--' + name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}

const host = arg('host', '127.0.0.1');
const port = Number(arg('port', process.env.PORT || '0'));
const room = arg('room', 'bench');

const httpServer = http.createServer((req, res) => {
  if (req.url === '/healthz') {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('ok\n');
    return;
  }
  res.writeHead(404);
  res.end();
});

const io = new Server(httpServer, {
  transports: ['websocket'],
  serveClient: false,
  perMessageDeflate: false,
  maxHttpBufferSize: 64 * 1024,
  pingInterval: 25000,
  pingTimeout: 20000,
  cors: { origin: true },
});

io.on('connection', (socket) => {
  socket.join(room);
  socket.on('msg', (body) => {
    if (typeof body !== 'string' || body.length > 16384) return;
    io.to(room).emit('msg', body);
  });
});

httpServer.listen(port, host, () => {
  console.log('listening ' + httpServer.address().port);
});

function shutdown() {
  io.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
