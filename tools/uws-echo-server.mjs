// A raw uWebSockets.js echo server for benchmark baselines: every binary
// message is sent straight back. Prints its port on stdout, exits on SIGTERM.
import uWS from '@trufflesuite/uws-js-unofficial';

const app = uWS.App();
app.ws('/ws', {
  maxPayloadLength: 64 * 1024 * 1024,
  maxBackpressure: 256 * 1024 * 1024,
  message: (ws, message, isBinary) => {
    ws.send(message, isBinary);
  },
});
app.listen('127.0.0.1', 0, (socket) => {
  if (!socket) process.exit(1);
  process.stdout.write(`${uWS.us_socket_local_port(socket)}\n`);
});
process.on('SIGTERM', () => process.exit(0));
