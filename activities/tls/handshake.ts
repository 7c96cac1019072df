// What a TLS endpoint serves for a name: a handshake with SNI, as a browser makes it. The
// certificate is read, not trusted: expired, self-signed or unknown-CA ones must be reported.
import * as tls from 'node:tls';
import { X509Certificate } from 'node:crypto';

export async function servedCertificate(
  address: string,
  port: number,
  servername: string,
  timeoutMs = 5000,
): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: address, port, servername, rejectUnauthorized: false, timeout: timeoutMs });
    const fail = (err: Error) => {
      socket.destroy();
      reject(err);
    };
    socket.once('timeout', () =>
      fail(new Error(`TLS handshake with ${address}:${port} (SNI ${servername}) timed out`)),
    );
    socket.once('error', (err) =>
      fail(new Error(`TLS handshake with ${address}:${port} (SNI ${servername}) failed: ${err.message}`)),
    );
    socket.once('secureConnect', () => {
      const raw = socket.getPeerCertificate().raw;
      socket.end();
      if (!raw) return reject(new Error(`${address}:${port} (SNI ${servername}) presented no certificate`));
      resolve(new X509Certificate(raw));
    });
  });
}
